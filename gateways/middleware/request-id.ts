import type { Context, Next } from "koa";
import { newId } from "../../lib/ids.js";

const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id: the caller's `x-request-id` when it is well formed, a new one
 * otherwise. It is echoed in the response and passed to the core, so one id follows a message
 * from webhook to reply through both processes' logs (DESIGN.md, Operations).
 */
export function requestId() {
  return async function requestId(ctx: Context, next: Next): Promise<void> {
    const offered = ctx.get("x-request-id");
    ctx.state.requestId = VALID.test(offered) ? offered : newId("req_");
    ctx.set("x-request-id", ctx.state.requestId);
    await next();
  };
}
