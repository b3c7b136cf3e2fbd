import type { Context, Next } from "koa";
import { HttpError } from "./error-handler.js";

/**
 * Reads the request body as raw bytes into ctx.state.rawBody, refusing more than `maxBytes` with
 * 413 (MAX_BODY_BYTES, default 1 MiB). Signatures are computed over these exact bytes: parsing
 * and re-serialising JSON would change them (channels.md §1.10).
 */
export function rawBody(maxBytes: number) {
  return async function rawBody(ctx: Context, next: Next): Promise<void> {
    ctx.state.rawBody = Buffer.alloc(0);
    if (ctx.method !== "GET" && ctx.method !== "HEAD" && ctx.method !== "OPTIONS") {
      const declared = Number(ctx.get("content-length") || "0");
      if (declared > maxBytes) throw new HttpError(413, "body too large");
      ctx.state.rawBody = await readLimited(ctx, maxBytes);
    }
    await next();
  };
}

async function readLimited(ctx: Context, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    total += chunk.length;
    // A body without Content-Length (chunked) is cut off here rather than buffered whole.
    if (total > maxBytes) throw new HttpError(413, "body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
