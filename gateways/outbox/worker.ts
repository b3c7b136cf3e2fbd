import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import { backoffDelay } from "./backoff.js";
import type { OutboundReply, Sender, SendOutcome } from "./outbox.js";
import type { ClaimedReply, OutboxQueue } from "./queue.js";

/** What the worker reports about one attempt to its observers (metrics). */
export interface OutboxEvent {
  readonly reply: OutboundReply;
  /** The attempt, from 1. */
  readonly attempt: number;
  /** Why it failed; absent for a send. */
  readonly reason?: string;
  /** How long the send took by the worker's clock, in ms. */
  readonly durationMs: number;
}

/** Collaborators and settings of createOutboxWorker. */
export interface OutboxWorkerOptions {
  readonly queue: OutboxQueue;
  /** The Sender of each channel, by OutboundReply.channel; a reply without one is dead-lettered. */
  readonly senders: Readonly<Record<string, Sender>>;
  readonly clock: Clock;
  /** Gets channel, message id, attempts and reasons; never a reply's text or recipient. */
  readonly logger: Pick<Logger, "info" | "warn" | "error">;
  /** Attempts before a retrying reply is dead-lettered; default 8. */
  readonly maxAttempts?: number;
  /** First backoff ceiling, in ms, doubled per attempt; default 500. */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling, in ms; default 60,000. Retry-After is honoured even when longer. */
  readonly maxDelayMs?: number;
  /** Sends in flight at once, each to a different recipient; default 16. */
  readonly concurrency?: number;
  /** Pause between claims while nothing is due, in ms; default 50. */
  readonly pollIntervalMs?: number;
  /** Lease of a claim, in ms; must exceed the senders' timeout; default 30,000. */
  readonly leaseMs?: number;
  /** Uniform [0, 1) source of the backoff jitter; default Math.random. */
  readonly random?: () => number;
  readonly onSent?: (event: OutboxEvent) => void;
  /** Called for every failed attempt, retried or not. */
  readonly onFailed?: (event: OutboxEvent) => void;
  readonly onDeadLetter?: (event: OutboxEvent) => void;
}

/** The running side of the outbox; see createOutboxWorker. */
export interface OutboxWorker {
  /** Starts claiming and sending in the background. */
  start(): void;
  /** Stops claiming, waits for the sends in flight to finish and be recorded, then resolves. */
  stop(): Promise<void>;
  /** Claims and sends until nothing is due and nothing is in flight (for tests). */
  drain(): Promise<void>;
  /** Ends the current idle pause now: something was just enqueued in this process. */
  nudge(): void;
}

/**
 * Creates the worker that empties an outbox through the channels' Senders (issue 4, item 4). A
 * "retry" outcome or a thrown error waits Retry-After if given, else exponential backoff with full
 * jitter, and is dead-lettered after `maxAttempts`; "fatal" is dead-lettered at once. The queue
 * keeps one reply per recipient in flight, so a retrying reply holds back the later ones.
 */
export function createOutboxWorker(options: OutboxWorkerOptions): OutboxWorker {
  const { queue, clock, logger } = options;
  const concurrency = options.concurrency ?? 16;
  const pollIntervalMs = options.pollIntervalMs ?? 50;
  const leaseMs = options.leaseMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const settle = createSettler(options);
  const inFlight = new Set<Promise<void>>();
  let claiming = 0;
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  const deliver = async (claimed: ClaimedReply) => {
    const startedAt = clock.now();
    // Claimed more often than allowed: its workers died mid-send each time (a poison reply).
    const outcome: SendOutcome =
      claimed.attempt > maxAttempts
        ? { kind: "fatal", reason: "LEASE_EXPIRED_TOO_OFTEN" }
        : await attempt(options.senders, claimed);
    await settle(claimed, outcome, clock.now() - startedAt).catch((error: unknown) =>
      logger.error(
        { err: error, ...describe(claimed) },
        "outbox could not record a send outcome; the reply returns after its lease",
      ),
    );
  };

  // Claims as many replies as there is room for and starts their sends; returns how many.
  const fill = async () => {
    const room = concurrency - inFlight.size - claiming;
    if (stopping || room <= 0) return 0;
    claiming += room;
    try {
      const claimed = await queue.claim(room, leaseMs);
      for (const item of claimed) {
        const sending: Promise<void> = deliver(item).finally(() => {
          inFlight.delete(sending);
          wake?.();
        });
        inFlight.add(sending);
      }
      return claimed.length;
    } finally {
      claiming -= room;
    }
  };

  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, pollIntervalMs);
      wake = done;
      function done() {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
    });

  const run = async () => {
    while (!stopping) {
      const claimed = await fill().catch((error: unknown) => {
        logger.warn({ err: error }, "outbox claim failed; retrying");
        return 0;
      });
      if (claimed === 0 && !stopping) await pause();
    }
  };

  return {
    start() {
      if (loop !== undefined) return;
      stopping = false;
      loop = run();
    },
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      loop = undefined;
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    nudge() {
      wake?.();
    },
    async drain() {
      for (;;) {
        // Idle before the claim: no send of ours could have made a reply due while it ran.
        const idle = inFlight.size === 0;
        const claimed = await fill();
        if (claimed === 0 && idle) return;
        if (claimed === 0 && inFlight.size > 0) await Promise.race(inFlight);
      }
    },
  };
}

async function attempt(
  senders: Readonly<Record<string, Sender>>,
  claimed: ClaimedReply,
): Promise<SendOutcome> {
  const { channel } = claimed.reply;
  if (!Object.hasOwn(senders, channel)) return { kind: "fatal", reason: "NO_SENDER_FOR_CHANNEL" };
  try {
    return await senders[channel].send(claimed.reply);
  } catch (error) {
    // Senders report failures as outcomes; a throw is a bug or an unforeseen network error, so
    // it is retried like one, named by its type only (its message may quote the reply).
    return { kind: "retry", reason: `SENDER_THREW_${error instanceof Error ? error.name : typeof error}` };
  }
}

/** Records an outcome in the queue, logs it and tells the observers. */
function createSettler(options: OutboxWorkerOptions) {
  const { queue, logger } = options;
  const maxAttempts = options.maxAttempts ?? 8;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const random = options.random ?? Math.random;

  const notify = (observer: ((event: OutboxEvent) => void) | undefined, event: OutboxEvent) => {
    try {
      observer?.(event);
    } catch (error) {
      logger.error({ err: error, ...describe(event) }, "outbox observer threw");
    }
  };

  const bury = async (claimed: ClaimedReply, reason: string, durationMs: number) => {
    await queue.deadLetter(claimed, reason);
    logger.warn({ ...describe(claimed), attempts: claimed.attempt, reason }, "outbox reply dead-lettered");
    notify(options.onDeadLetter, { reply: claimed.reply, attempt: claimed.attempt, reason, durationMs });
  };

  return async (claimed: ClaimedReply, outcome: SendOutcome, durationMs: number) => {
    const event = { reply: claimed.reply, attempt: claimed.attempt, durationMs };
    if (outcome.kind === "sent") {
      if (!(await queue.ack(claimed))) {
        logger.warn(
          describe(claimed),
          "outbox reply sent after its lease was reclaimed; it may be sent twice",
        );
      }
      return notify(options.onSent, event);
    }
    notify(options.onFailed, { ...event, reason: outcome.reason });
    if (outcome.kind === "fatal" || claimed.attempt >= maxAttempts) {
      return bury(claimed, outcome.reason, durationMs);
    }
    const afterMs = outcome.afterMs;
    const delayMs =
      afterMs !== undefined && Number.isFinite(afterMs) && afterMs >= 0
        ? afterMs
        : backoffDelay(claimed.attempt, baseDelayMs, maxDelayMs, random);
    await queue.retry(claimed, delayMs);
    logger.info({ ...describe(claimed), reason: outcome.reason, delayMs }, "outbox send will be retried");
  };
}

/** The loggable identity of a reply: never its text or recipient. */
function describe(item: { readonly reply: OutboundReply; readonly attempt: number }) {
  const { channel, messageId, index } = item.reply;
  return { channel, messageId, index, attempt: item.attempt };
}
