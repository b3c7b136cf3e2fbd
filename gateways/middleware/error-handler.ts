import type { Context, Next } from "koa";
import type { Logger } from "../../lib/logger.js";

/** Statuses whose standard text may be shown to a caller; anything else answers a generic 500. */
const EXPOSED = new Map<number, string>([
  [400, "bad request"],
  [401, "unauthorized"],
  [403, "forbidden"],
  [404, "not found"],
  [405, "method not allowed"],
  [413, "payload too large"],
  [415, "unsupported media type"],
  [429, "too many requests"],
  [503, "service unavailable"],
]);

/**
 * The first middleware of the chain (STYLE.md §6): every failure becomes a generic JSON body
 * `{ "error": "<status text>" }` with no stack, no library text and no echo of the request. The
 * cause of a 5xx goes to the log under the request id.
 */
export function errorHandler(logger: Logger) {
  return async function errorHandler(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) answer(ctx, 404);
    } catch (err) {
      const status = statusOf(err);
      if (status >= 500) {
        logger.error({ requestId: ctx.state.requestId, err }, "request failed");
      }
      answer(ctx, status);
      const retryAfter = (err as { retryAfterSeconds?: number }).retryAfterSeconds;
      if (retryAfter !== undefined) ctx.set("Retry-After", String(retryAfter));
    }
  };
}

/** An error that carries the HTTP status to answer (and, for 429, the seconds to wait). */
export class HttpError extends Error {
  readonly status: number;
  readonly retryAfterSeconds?: number;
  constructor(status: number, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

function statusOf(err: unknown): number {
  const status = (err as { status?: unknown }).status;
  return typeof status === "number" && EXPOSED.has(status) ? status : 500;
}

function answer(ctx: Context, status: number): void {
  ctx.status = status;
  ctx.type = "application/json";
  ctx.body = { error: EXPOSED.get(status) ?? "internal error" };
}
