import { createHash } from "node:crypto";
import type { OutboundReply } from "./outbox.js";

/**
 * How long an enqueued reply's identity is remembered, in ms: 8 days. WhatsApp redelivers an
 * unacknowledged webhook for up to 7 days (channels.md §1.3), and a redelivery must not store its
 * replies again even after they were sent.
 */
export const DEFAULT_SEEN_TTL_MS = 8 * 24 * 60 * 60 * 1000;

/** The shortest seen TTL an outbox accepts: a day, the shortest redelivery window of our channels. */
export const MIN_SEEN_TTL_MS = 24 * 60 * 60 * 1000;

/** The most dead letters kept; older ones are dropped so a long outage cannot fill the store. */
export const MAX_DEAD_LETTERS = 10_000;

/** A reply a worker claimed; it is leased to that worker until it is acknowledged or the lease ends. */
export interface ClaimedReply {
  readonly reply: OutboundReply;
  /** Which attempt this claim is, from 1; a claim whose worker died counts as an attempt. */
  readonly attempt: number;
  /** Opaque handle naming this claim to ack, retry and deadLetter; stale once the lease was reclaimed. */
  readonly receipt: string;
}

/** A reply that will not be sent: kept with the reason for an operator to read. */
export interface DeadLetter {
  readonly reply: OutboundReply;
  /** The last failure as the Sender reported it, e.g. "HTTP_400", or "HTTP_503" after the last attempt. */
  readonly reason: string;
  readonly attempts: number;
  /** When it was moved to the list, in ms since the epoch. */
  readonly deadAt: number;
}

/**
 * OutboxQueue is the worker's side of the outbox. At most one reply per recipient is claimed at
 * a time, always the first in (sequence, index) order, so replies to one customer leave in order
 * and a retrying reply holds back the ones after it. A claim is a lease: when its worker dies the
 * reply becomes claimable again after `leaseMs`, which makes delivery at-least-once.
 */
export interface OutboxQueue {
  /** Claims up to `max` due replies of different recipients, each leased for `leaseMs`. */
  claim(max: number, leaseMs: number): Promise<ClaimedReply[]>;
  /** Removes a sent reply and makes its recipient's next reply due; false when the claim was stale. */
  ack(claimed: ClaimedReply): Promise<boolean>;
  /** Releases the claim and makes the reply due again after `delayMs`; false when the claim was stale. */
  retry(claimed: ClaimedReply, delayMs: number): Promise<boolean>;
  /** Moves the reply to the dead-letter list with `reason`; false when the claim was stale. */
  deadLetter(claimed: ClaimedReply, reason: string): Promise<boolean>;
  /** The newest `limit` dead letters, newest first. */
  deadLetters(limit: number): Promise<DeadLetter[]>;
  /** Replies waiting or in flight, over all recipients. */
  depth(): Promise<number>;
}

/** The identity and place of one reply in its recipient's queue. */
export interface ReplyKey {
  /** Hash of channel and recipient: names the recipient's queue without the raw number. */
  readonly recipientId: string;
  /** Hash of channel, recipient, messageId and index: the idempotency key of the reply. */
  readonly replyId: string;
  /** Sorts as (sequence, index) when compared as strings; ends with `:<replyId>`. */
  readonly order: string;
}

/**
 * Derives a reply's ReplyKey. SHA-256 keeps phone numbers out of key names (STYLE.md §2); it
 * need not be keyed, because the stored reply itself holds the recipient, which the send needs.
 * Throws a RangeError when sequence or index is not a non-negative safe integer.
 */
export function replyKey(reply: OutboundReply): ReplyKey {
  for (const [name, value] of [
    ["sequence", reply.sequence],
    ["index", reply.index],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`OutboundReply.${name} must be a non-negative safe integer`);
    }
  }
  const recipientId = digest(["recipient", reply.channel, reply.recipient]);
  const replyId = digest(["reply", reply.channel, reply.recipient, reply.messageId, String(reply.index)]);
  const order = `${pad(reply.sequence, 16)}:${pad(reply.index, 16)}:${replyId}`;
  return { recipientId, replyId, order };
}

/** Refuses a seen TTL shorter than MIN_SEEN_TTL_MS, which would let redeliveries double replies. */
export function checkSeenTtl(seenTtlMs: number): number {
  if (!(seenTtlMs >= MIN_SEEN_TTL_MS)) {
    throw new RangeError(`seenTtlMs must be at least ${MIN_SEEN_TTL_MS} ms (24 h)`);
  }
  return seenTtlMs;
}

/** The reply's own fields, copied: nothing a caller attached rides along into storage. */
export function storedReply(reply: OutboundReply): OutboundReply {
  const { channel, recipient, messageId, sequence, index, text } = reply;
  const choices = reply.choices.map(({ title, payload }) => ({ title, payload }));
  return { channel, recipient, messageId, sequence, index, text, choices };
}

function digest(parts: readonly string[]): string {
  // NUL separates the parts, so ("a:b", "c") and ("a", "b:c") never collide.
  return createHash("sha256").update(parts.join("\u0000")).digest("base64url");
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}
