import type { Clock } from "../../lib/clock.js";
import type { SendOutcome } from "./outbox.js";

/**
 * The pieces every channel's sender shares when it reads a send API's answer: Retry-After and the
 * classification of transport failures (the size-capped body read is lib/limited-body.ts). Only what each API says in its
 * error body (Graph codes, Twilio codes, Telegram's retry_after) stays in the channel's folder.
 */

/** Retry-After as delta-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from now, never negative. */
export function retryAfterMs(header: string | null, clock: Clock): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^[0-9]{1,9}$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - clock.now());
}

/** Timeouts and network errors are worth another try; the reason names the kind, not the URL. */
export function transportFailure(error: unknown): SendOutcome {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return { kind: "retry", reason: "timeout" };
  }
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const known = typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code);
  return { kind: "retry", reason: known ? `network ${code}` : "network error" };
}
