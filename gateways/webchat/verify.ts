import type { Context } from "koa";
import { HttpError } from "../middleware/error-handler.js";
import type { WebchatSession, WebchatTokens } from "./session-token.js";

/** A bearer token as RFC 6750 §2.1 writes it, bounded so a huge header is refused before jose sees it. */
const BEARER = /^Bearer ([A-Za-z0-9_-]{1,1024}\.[A-Za-z0-9_-]{1,1024}\.[A-Za-z0-9_-]{1,1024})$/;

/**
 * The web chat's "verify before parse" step (DESIGN.md, Gateways): the visitor's session token
 * from `Authorization: Bearer …`, checked by jose (HMAC compared in constant time by WebCrypto).
 * Missing, malformed, forged or expired tokens all answer the same 401 with
 * `WWW-Authenticate: Bearer` (RFC 6750 §3); `onFailure` counts them, the reason is not echoed.
 */
export async function authenticateVisitor(
  ctx: Context,
  tokens: WebchatTokens,
  onFailure?: (reason: string) => void,
): Promise<WebchatSession> {
  const match = BEARER.exec(ctx.get("authorization"));
  try {
    if (!match) throw Object.assign(new Error("no bearer token"), { code: "ERR_NO_BEARER" });
    return await tokens.verify(match[1] as string);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    onFailure?.(typeof code === "string" ? code : "ERR_UNKNOWN");
    ctx.set("WWW-Authenticate", 'Bearer realm="teller-webchat"');
    throw new HttpError(401, "session token refused");
  }
}
