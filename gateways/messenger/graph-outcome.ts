/**
 * What a Send API answer means for the outbox: sent, worth another try (with Retry-After) or
 * never going to succeed. Graph errors are classified by their `code` and `is_transient` flag,
 * not by message text (channels.md §1.9: build on the code, not on titles or the HTTP status).
 */
import { z } from "zod";
import type { Clock } from "../../lib/clock.js";
import { readLimitedJson } from "../../lib/limited-body.js";
import { retryAfterMs } from "../outbox/http-outcome.js";
import type { SendOutcome } from "../outbox/outbox.js";

/**
 * Graph error codes worth another try whatever the HTTP status (Graph API "Handling errors"):
 * 1 unknown and 2 service errors (possibly temporary), 4 app, 17 user, 32 page and 613 custom rate
 * limits; and Messenger's 1200, "temporary send message failure". Every other code (100 invalid
 * parameter, 190 bad token, 10/200 permissions, 551 person unavailable, …) is permanent.
 */
export const RETRYABLE_GRAPH_CODES: ReadonlySet<number> = new Set([1, 2, 4, 17, 32, 613, 1200]);

const ERROR_BODY_LIMIT = 64 * 1024;
const graphErrorEnvelope = z.object({
  error: z.object({ code: z.number().int(), is_transient: z.boolean().optional() }),
});

/** 2xx sent; 429, 5xx, retryable codes and transient errors retry; anything else is fatal. */
export async function classifyGraphResponse(response: Response, clock: Clock): Promise<SendOutcome> {
  const { status } = response;
  if (status >= 200 && status < 300) {
    await response.body?.cancel();
    return { kind: "sent" };
  }
  const error = await graphError(response);
  const reason = error === undefined ? `graph ${status}` : `graph ${status} ${error.code}`;
  const retryable =
    status === 429 ||
    status >= 500 ||
    (error !== undefined && (RETRYABLE_GRAPH_CODES.has(error.code) || error.is_transient === true));
  if (!retryable) return { kind: "fatal", reason };
  const afterMs = retryAfterMs(response.headers.get("retry-after"), clock);
  return afterMs === undefined ? { kind: "retry", reason } : { kind: "retry", reason, afterMs };
}

/** The `error` of a Graph error envelope, reading at most 64 KiB of the body. */
async function graphError(
  response: Response,
): Promise<z.infer<typeof graphErrorEnvelope>["error"] | undefined> {
  const parsed = graphErrorEnvelope.safeParse(await readLimitedJson(response, ERROR_BODY_LIMIT));
  return parsed.success ? parsed.data.error : undefined;
}
