import type { Context, Next } from "koa";
import { consumeOrThrow, type Limiter } from "../../lib/rate-limit.js";
import { HttpError } from "./error-handler.js";

/**
 * The per-IP limit (default 100 requests per 15 minutes, RATE_LIMIT_PER_IP): 429 with
 * Retry-After beyond it. The key is ctx.ip, which honours X-Forwarded-For only when the app
 * trusts a proxy (TRUST_PROXY), because the header is spoofable (security.md RL-7).
 */
export function rateLimit(limiter: Limiter, onLimited?: () => void) {
  return async function rateLimit(ctx: Context, next: Next): Promise<void> {
    await consumeOrThrow(limiter, ctx.ip || "unknown", (retryAfterMs) => {
      onLimited?.();
      return new HttpError(429, "rate limited", Math.max(1, Math.ceil(retryAfterMs / 1000)));
    });
    await next();
  };
}
