import type { Context, Next } from "koa";

/**
 * CORS for the configured origins only (the web chat's pages); every other origin gets no CORS
 * headers, so browsers refuse to let it read responses. Preflights from allowed origins answer 204.
 */
export function cors(origins: readonly string[]) {
  const allowed = new Set(origins);
  return async function cors(ctx: Context, next: Next): Promise<void> {
    const origin = ctx.get("origin");
    ctx.vary("Origin");
    if (!origin || !allowed.has(origin)) {
      await next();
      return;
    }
    ctx.set("Access-Control-Allow-Origin", origin);
    if (ctx.method === "OPTIONS") {
      ctx.set("Access-Control-Allow-Methods", "GET, POST");
      ctx.set("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Request-Id");
      ctx.set("Access-Control-Max-Age", "600");
      ctx.status = 204;
      return;
    }
    await next();
  };
}
