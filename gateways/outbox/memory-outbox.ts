import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.js";
import type { OutboundReply, Outbox } from "./outbox.js";
import {
  type ClaimedReply,
  checkSeenTtl,
  DEFAULT_SEEN_TTL_MS,
  type DeadLetter,
  MAX_DEAD_LETTERS,
  type OutboxQueue,
  replyKey,
  storedReply,
} from "./queue.js";

/** Collaborators and settings of createMemoryOutbox. */
export interface MemoryOutboxOptions {
  /** Source of due times, lease ends and seen expiry. */
  readonly clock: Clock;
  /** How long a reply's identity is remembered against redeliveries, in ms; default 8 days, at least 24 h. */
  readonly seenTtlMs?: number;
}

interface Receipt {
  readonly recipientId: string;
  readonly order: string;
  readonly token: string;
}

/**
 * Creates the outbox in process memory, for a gateway run without REDIS_URL (DESIGN.md, State).
 * It keeps every promise of the Redis outbox within one process — idempotent enqueue, one reply
 * in flight per recipient in (sequence, index) order, leases, retries and dead letters — but it is
 * NOT durable: replies waiting when the process exits are lost, and two processes do not share it.
 */
export function createMemoryOutbox(options: MemoryOutboxOptions): Outbox & OutboxQueue {
  const { clock } = options;
  const seenTtlMs = checkSeenTtl(options.seenTtlMs ?? DEFAULT_SEEN_TTL_MS);
  const replies = new Map<string, OutboundReply>();
  const attempts = new Map<string, number>();
  const queues = new Map<string, string[]>();
  const ready = new Map<string, number>();
  const leases = new Map<string, { readonly until: number; readonly token: string }>();
  // Insertion order is expiry order, so expired markers are pruned from the front.
  const seen = new Map<string, number>();
  const dead: DeadLetter[] = [];

  const forgetExpired = (now: number) => {
    for (const [replyId, expiresAt] of seen) {
      if (expiresAt > now) return;
      seen.delete(replyId);
    }
  };

  const store = (reply: OutboundReply, now: number) => {
    const { recipientId, replyId, order } = replyKey(reply);
    if ((seen.get(replyId) ?? 0) > now || replies.has(replyId)) return;
    seen.set(replyId, now + seenTtlMs);
    replies.set(replyId, storedReply(reply));
    const queue = queues.get(recipientId) ?? [];
    queue.push(order);
    queue.sort();
    queues.set(recipientId, queue);
    if (!leases.has(recipientId) && !ready.has(recipientId)) ready.set(recipientId, now);
  };

  const reclaimExpired = (now: number) => {
    for (const [recipientId, lease] of leases) {
      if (lease.until > now) continue;
      leases.delete(recipientId);
      ready.set(recipientId, now);
    }
  };

  const claimOne = (recipientId: string, now: number, leaseMs: number): ClaimedReply | undefined => {
    ready.delete(recipientId);
    const order = queues.get(recipientId)?.[0];
    const reply = order === undefined ? undefined : replies.get(replyIdOf(order));
    if (order === undefined || reply === undefined) return undefined;
    const token = randomBytes(12).toString("base64url");
    leases.set(recipientId, { until: now + leaseMs, token });
    const attempt = (attempts.get(replyIdOf(order)) ?? 0) + 1;
    attempts.set(replyIdOf(order), attempt);
    const receipt: Receipt = { recipientId, order, token };
    return { reply: storedReply(reply), attempt, receipt: JSON.stringify(receipt) };
  };

  // Ends a claim; undefined when it is stale (its lease expired and was reclaimed).
  const release = (claimed: ClaimedReply): Receipt | undefined => {
    const receipt = JSON.parse(claimed.receipt) as Receipt;
    if (leases.get(receipt.recipientId)?.token !== receipt.token) return undefined;
    leases.delete(receipt.recipientId);
    return receipt;
  };

  const finish = (claimed: ClaimedReply, record?: DeadLetter) => {
    const receipt = release(claimed);
    if (receipt === undefined) return false;
    const queue = queues.get(receipt.recipientId) ?? [];
    queue.splice(queue.indexOf(receipt.order), 1);
    replies.delete(replyIdOf(receipt.order));
    attempts.delete(replyIdOf(receipt.order));
    if (record !== undefined && dead.unshift(record) > MAX_DEAD_LETTERS) dead.pop();
    if (queue.length > 0) ready.set(receipt.recipientId, clock.now());
    else queues.delete(receipt.recipientId);
    return true;
  };

  return {
    async enqueue(batch) {
      const now = clock.now();
      forgetExpired(now);
      for (const reply of batch) store(reply, now);
    },
    depth: async () => replies.size,
    async claim(max, leaseMs) {
      const now = clock.now();
      reclaimExpired(now);
      const due = [...ready].filter(([, dueAt]) => dueAt <= now).sort(([, a], [, b]) => a - b);
      const claimed = due.slice(0, max).map(([recipientId]) => claimOne(recipientId, now, leaseMs));
      return claimed.filter((item): item is ClaimedReply => item !== undefined);
    },
    ack: async (claimed) => finish(claimed),
    async retry(claimed, delayMs) {
      const receipt = release(claimed);
      if (receipt !== undefined) ready.set(receipt.recipientId, clock.now() + delayMs);
      return receipt !== undefined;
    },
    async deadLetter(claimed, reason) {
      return finish(claimed, {
        reply: claimed.reply,
        reason,
        attempts: claimed.attempt,
        deadAt: clock.now(),
      });
    },
    deadLetters: async (limit) => dead.slice(0, limit),
  };
}

function replyIdOf(order: string): string {
  return order.slice(order.lastIndexOf(":") + 1);
}
