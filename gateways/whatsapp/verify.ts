/**
 * Authenticity checks for the WhatsApp Cloud webhook (channels.md §1.1–1.2): the
 * `X-Hub-Signature-256` HMAC on every POST, and the `hub.*` handshake Meta sends when the callback
 * URL is configured. Both compare in constant time, so a caller cannot learn a secret byte by byte.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** `sha256=` followed by exactly 64 hex digits; nothing before, nothing after. */
const SIGNATURE_HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/** A challenge we are willing to echo: Meta sends digits; letters are tolerated, nothing else. */
const SAFE_CHALLENGE = /^[0-9A-Za-z]{1,64}$/;

/**
 * True when `header` is `sha256=<hex>` and the hex is the HMAC-SHA256 of `rawBody` keyed with the
 * app secret. The digest is computed over the raw request bytes as received, never over re-serialised
 * JSON: Meta signs its escaped-unicode form (`\u00e9`), which `JSON.stringify` would not reproduce.
 *
 * Decisions: the `sha256=` prefix is exact (Meta's documented form, lower case); the hex digits are
 * accepted in either case, because they are decoded to the 32 digest bytes before comparison and
 * case carries no information (Meta sends lower case). A missing, empty, truncated, over-long or
 * otherwise malformed header is refused without throwing, as is an empty app secret (a
 * misconfiguration must fail closed, not accept an HMAC anyone can compute).
 */
export function verifyHubSignature(rawBody: Buffer, header: string | undefined, appSecret: string): boolean {
  if (typeof header !== "string" || appSecret.length === 0) return false;
  const match = SIGNATURE_HEADER.exec(header);
  if (match === null) return false;
  const claimed = Buffer.from(match[1] as string, "hex");
  const expected = createHmac("sha256", appSecret).update(rawBody).digest();
  // Both are 32 bytes here (64 hex digits checked above); the guard keeps timingSafeEqual from throwing.
  return claimed.length === expected.length && timingSafeEqual(claimed, expected);
}

/**
 * The challenge to answer with HTTP 200 when the query is Meta's verification handshake
 * (`hub.mode=subscribe`, `hub.verify_token` equal to ours), else undefined and the caller answers
 * 403. The challenge is echoed only when it is 1–64 letters or digits: echoing arbitrary text would
 * let anyone holding the token reflect content from our origin. Repeated parameters (arrays) and an
 * empty configured token are refused.
 */
export function checkVerifyHandshake(
  query: Record<string, unknown>,
  verifyToken: string,
): string | undefined {
  const mode = query["hub.mode"];
  const token = query["hub.verify_token"];
  const challenge = query["hub.challenge"];
  if (mode !== "subscribe" || typeof token !== "string" || typeof challenge !== "string") return undefined;
  if (verifyToken.length === 0 || !constantTimeEquals(token, verifyToken)) return undefined;
  return SAFE_CHALLENGE.test(challenge) ? challenge : undefined;
}

/**
 * Compares two strings without leaking where they differ or how long the secret is: both sides are
 * hashed first, so timingSafeEqual always sees two 32-byte buffers.
 */
function constantTimeEquals(given: string, secret: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(secret, "utf8").digest();
  return timingSafeEqual(a, b);
}
