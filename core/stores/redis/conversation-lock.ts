import { setTimeout as sleep } from "node:timers/promises";
import type { ChainableCommander } from "ioredis";
import type { Logger } from "../../../lib/logger.js";
import { pooledRandomBytes } from "../../../lib/random-pool.js";
import { defineScript, hashTag, type RedisClient } from "../../../lib/redis.js";
import type { ConversationLock } from "../../domain/conversation-ports.js";
import { DomainError } from "../../domain/errors.js";

const MIN_POLL_MS = 2;
const MAX_POLL_MS = 20;

/** Collaborators and settings of createRedisConversationLock. */
export interface RedisConversationLockOptions {
  readonly redis: RedisClient;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
  /** Lifetime of a caller's lease, refreshed every third of it while it waits or runs; default 15,000 ms. */
  readonly leaseMs?: number;
  /** Longest a caller waits for its turn before CONVERSATION_BUSY, in ms; default 10,000. */
  readonly maxWaitMs?: number;
  /** Where failed lease refreshes are reported; they are retried, the release reports a lasting outage. */
  readonly logger?: Pick<Logger, "warn">;
}

/** The FIFO list of a subject's callers; the head holds the lock. */
export function lockQueueKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:queue`;
}

/** The lease of one caller's token; when it is gone the caller is presumed dead. */
export function lockLeaseKey(prefix: string, subjectId: string, token: string): string {
  return `${prefix}:${hashTag(subjectId)}:lease:${token}`;
}

interface Turn {
  readonly queue: string;
  readonly lease: (token: string) => string;
  readonly token: string;
}

// KEYS queue, lease; ARGV token, leaseMs, queueTtlMs → the queue's head after this caller joined.
// One script instead of a MULTI of five commands: the arrival is the hot path of every message.
// Order holds on one connection: scripts run in the order sent, and if the server lost its script
// cache every arrival fails NOSCRIPT alike and is re-sent in the same order (lib/redis defineScript).
const arriveScript = defineScript(`
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return redis.call('LINDEX', KEYS[1], 0)
`);

// KEYS queue, lease; ARGV leaseMs, queueTtlMs → 1 while the lease lives.
const refreshLease = defineScript(`
if redis.call('PEXPIRE', KEYS[2], ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`);

// KEYS queue, lease of head; ARGV head → 1 when a head without lease (a crashed holder) was removed.
const popDeadHead = defineScript(`
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0
`);

// KEYS queue, lease; ARGV token → hands the lock to the next caller.
const releaseTurn = defineScript(`
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
else
  redis.call('LREM', KEYS[1], 0, ARGV[1])
end
return redis.call('DEL', KEYS[2])
`);

/**
 * Creates a ConversationLock on Redis that orders the callers of one subject across processes:
 * each caller appends a token to the subject's list (arrival order), waits until its token is
 * the head, and pops it when done. Leases let waiters skip a crashed holder. Every key carries
 * the subject's hash tag, so each script stays in one cluster slot (DESIGN.md, State).
 */
export function createRedisConversationLock(options: RedisConversationLockOptions): ConversationLock {
  const { redis, logger } = options;
  const prefix = options.prefix ?? "teller";
  const leaseMs = options.leaseMs ?? 15_000;
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const queueTtlMs = 2 * leaseMs;

  // Resolves with the queue's head after arrival, so an uncontended caller needs no second trip.
  const arrive = async (turn: Turn): Promise<string | null> =>
    (await arriveScript(redis, [turn.queue, turn.lease(turn.token)], [turn.token, leaseMs, queueTtlMs])) as
      | string
      | null;
  const refresh = async (turn: Turn) =>
    (await refreshLease(redis, [turn.queue, turn.lease(turn.token)], [leaseMs, queueTtlMs])) === 1;
  const leave = (turn: Turn) =>
    exec(redis.multi().lrem(turn.queue, 0, turn.token).del(turn.lease(turn.token)));

  // An empty list or a lost lease means our token was dropped (we stalled past the lease): re-arrive.
  const stayQueued = async (turn: Turn, head: string | null, refreshDue: boolean) => {
    if (head === null || (refreshDue && !(await refresh(turn)))) await arrive(turn);
  };

  const waitTurn = async (turn: Turn, firstHead: string | null) => {
    if (firstHead === turn.token) return;
    const deadline = performance.now() + maxWaitMs;
    let refreshAt = performance.now() + leaseMs / 3;
    let delay = MIN_POLL_MS;
    let lastHead: string | null = null;
    for (;;) {
      const head = await redis.lindex(turn.queue, 0);
      if (head === turn.token) return;
      if (head !== null && (await popDeadHead(redis, [turn.queue, turn.lease(head)], [head])) === 1) continue;
      if (performance.now() >= deadline) {
        await leave(turn);
        throw conversationBusy(maxWaitMs);
      }
      const refreshDue = performance.now() >= refreshAt;
      await stayQueued(turn, head, refreshDue);
      if (refreshDue) refreshAt = performance.now() + leaseMs / 3;
      // Poll quickly when the head moves, back off up to MAX_POLL_MS while it stays.
      delay = head === lastHead ? Math.min(delay * 2, MAX_POLL_MS) : MIN_POLL_MS;
      lastHead = head;
      await sleep(delay);
    }
  };

  const keepAlive = (turn: Turn) => {
    const timer = setInterval(() => {
      refresh(turn).catch((error: unknown) =>
        logger?.warn({ err: error }, "conversation lock lease refresh failed"),
      );
    }, leaseMs / 3);
    timer.unref();
    return () => clearInterval(timer);
  };

  const hold = async <T>(turn: Turn, arrived: Promise<string | null>, fn: () => Promise<T>): Promise<T> => {
    await waitTurn(turn, await arrived);
    const stop = keepAlive(turn);
    try {
      return await fn();
    } finally {
      stop();
      await releaseTurn(redis, [turn.queue, turn.lease(turn.token)], [turn.token]);
    }
  };

  return {
    // Not async: the arrival is sent before run returns, so one connection keeps call order.
    run<T>(subjectId: string, fn: () => Promise<T>): Promise<T> {
      const turn: Turn = {
        queue: lockQueueKey(prefix, subjectId),
        lease: (token) => lockLeaseKey(prefix, subjectId, token),
        token: pooledRandomBytes(12).toString("base64url"),
      };
      return hold(turn, arrive(turn), fn);
    },
  };
}

function conversationBusy(retryAfterMs: number): DomainError {
  return new DomainError("CONVERSATION_BUSY", "Still working on your previous message; try again soon.", {
    retryAfterMs,
  });
}

/** Runs a transaction, throws the first error of its commands, and returns their results. */
async function exec(multi: ChainableCommander): Promise<unknown[]> {
  const results = await multi.exec();
  if (results === null) throw new Error("Redis transaction aborted");
  for (const [error] of results) {
    if (error) throw error;
  }
  return results.map(([, value]) => value);
}
