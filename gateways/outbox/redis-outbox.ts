import { randomBytes } from "node:crypto";
import type { Clock } from "../../lib/clock.js";
import { defineScript, hashTag, type RedisClient } from "../../lib/redis.js";
import type { Outbox } from "./outbox.js";
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

/** Collaborators and settings of createRedisOutbox. */
export interface RedisOutboxOptions {
  readonly redis: RedisClient;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
  /** Source of due times and lease ends; processes sharing an outbox need synchronised clocks. */
  readonly clock: Clock;
  /** How long a reply's identity is remembered against redeliveries, in ms; default 8 days, at least 24 h. */
  readonly seenTtlMs?: number;
}

/** Leases checked for expiry per claim; the rest wait for the next one. */
const RECLAIM_BATCH = 100;

// KEYS replies, ready, leases, then (seen, queue) per reply; ARGV now, seenTtlMs, then
// (replyId, order, recipientId, json) per reply → number stored. A recipient in flight is made
// due by its ack; one in backoff keeps its due time (order over speed).
const enqueueScript = defineScript(`
local stored = 0
for i = 1, (#KEYS - 3) / 2 do
  local a = 2 + (i - 1) * 4
  if redis.call('SET', KEYS[2 + 2 * i], '1', 'NX', 'PX', ARGV[2])
    and redis.call('HSETNX', KEYS[1], ARGV[a + 1], ARGV[a + 4]) == 1 then
    redis.call('ZADD', KEYS[3 + 2 * i], 0, ARGV[a + 2])
    if not redis.call('ZSCORE', KEYS[3], ARGV[a + 3]) then
      redis.call('ZADD', KEYS[2], 'NX', ARGV[1], ARGV[a + 3])
    end
    stored = stored + 1
  end
end
return stored
`);

// KEYS ready, leases, claims, queue, replies, attempts; ARGV recipientId, now, leaseEnd, token
// → { order, json, attempt } of the recipient's first reply, or nil when another worker won.
const claimScript = defineScript(`
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return false end
redis.call('ZREM', KEYS[1], ARGV[1])
local head = redis.call('ZRANGE', KEYS[4], 0, 0)[1]
if not head then return false end
local id = string.match(head, '[^:]+$')
local json = redis.call('HGET', KEYS[5], id)
if not json then
  redis.call('ZREM', KEYS[4], head)
  if redis.call('ZCARD', KEYS[4]) > 0 then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end
  return false
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[4])
return { head, json, redis.call('HINCRBY', KEYS[6], id, 1) }
`);

// KEYS leases, claims, queue, replies, attempts, ready, dead; ARGV recipientId, token, order,
// replyId, now, dead-letter JSON ('' to acknowledge), max dead letters → 1, or 0 when stale.
const finishScript = defineScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[4], ARGV[4])
redis.call('HDEL', KEYS[5], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('LPUSH', KEYS[7], ARGV[6])
  redis.call('LTRIM', KEYS[7], 0, tonumber(ARGV[7]) - 1)
end
if redis.call('ZCARD', KEYS[3]) > 0 then redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1]) end
return 1
`);

// KEYS leases, claims, ready; ARGV recipientId, token, dueAt → 1, or 0 when the claim is stale.
const retryScript = defineScript(`
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
`);

// KEYS leases, claims, ready; ARGV recipientId, now → 1 when an expired lease was returned to ready.
const reclaimScript = defineScript(`
local lease = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not lease or tonumber(lease) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
return 1
`);

interface Receipt {
  readonly recipientId: string;
  readonly order: string;
  readonly token: string;
}

/**
 * Creates the durable outbox on Redis. Each recipient (a hash of channel and number) has a sorted
 * queue of replies; a `ready` set holds recipients with a due first reply, a `leases` set those
 * claimed by a worker, so one recipient has at most one reply in flight across all processes.
 * Every script commits its whole step at once, so a process may die at any point without losing a
 * reply; an unacknowledged claim returns after its lease (at-least-once: a crash after the
 * provider accepted a reply but before the ack sends that one reply twice — the only double).
 *
 * Every key is `<prefix>:{outbox}:…`, one hash tag, so the whole outbox lives in one Redis Cluster
 * slot (DESIGN.md, State): scripts may then touch any recipient's keys with the shared sets.
 */
export function createRedisOutbox(options: RedisOutboxOptions): Outbox & OutboxQueue {
  const { redis, clock } = options;
  const seenTtlMs = checkSeenTtl(options.seenTtlMs ?? DEFAULT_SEEN_TTL_MS);
  const base = `${options.prefix ?? "teller"}:${hashTag("outbox")}`;
  const keys = {
    replies: `${base}:replies`,
    attempts: `${base}:attempts`,
    ready: `${base}:ready`,
    leases: `${base}:leases`,
    claims: `${base}:claims`,
    dead: `${base}:dead`,
    queue: (recipientId: string) => `${base}:queue:${recipientId}`,
    seen: (replyId: string) => `${base}:seen:${replyId}`,
  };
  const leaseKeys = [keys.leases, keys.claims, keys.ready];

  const reclaimExpired = async (now: number) => {
    const expired = await redis.zrangebyscore(keys.leases, "-inf", now, "LIMIT", 0, RECLAIM_BATCH);
    await Promise.all(expired.map((recipientId) => reclaimScript(redis, leaseKeys, [recipientId, now])));
  };

  const claimOne = async (recipientId: string, now: number, leaseMs: number) => {
    const token = randomBytes(12).toString("base64url");
    const claimKeys = [keys.ready, keys.leases, keys.claims, keys.queue(recipientId), keys.replies];
    const result = await claimScript(
      redis,
      [...claimKeys, keys.attempts],
      [recipientId, now, now + leaseMs, token],
    );
    if (result === null) return undefined;
    const [order, json, attempt] = result as [string, string, number];
    const receipt: Receipt = { recipientId, order, token };
    const claimed: ClaimedReply = { reply: JSON.parse(json), attempt, receipt: JSON.stringify(receipt) };
    return claimed;
  };

  const finish = async (claimed: ClaimedReply, deadLetter: string) => {
    const { recipientId, order, token } = JSON.parse(claimed.receipt) as Receipt;
    const replyId = order.slice(order.lastIndexOf(":") + 1);
    const finishKeys = [keys.leases, keys.claims, keys.queue(recipientId), keys.replies, keys.attempts];
    const args = [recipientId, token, order, replyId, clock.now(), deadLetter, MAX_DEAD_LETTERS];
    return (await finishScript(redis, [...finishKeys, keys.ready, keys.dead], args)) === 1;
  };

  return {
    async enqueue(replies) {
      if (replies.length === 0) return;
      const scriptKeys = [keys.replies, keys.ready, keys.leases];
      const args: (string | number)[] = [clock.now(), seenTtlMs];
      for (const reply of replies) {
        const { recipientId, replyId, order } = replyKey(reply);
        scriptKeys.push(keys.seen(replyId), keys.queue(recipientId));
        args.push(replyId, order, recipientId, JSON.stringify(storedReply(reply)));
      }
      await enqueueScript(redis, scriptKeys, args);
    },
    depth: () => redis.hlen(keys.replies),
    async claim(max, leaseMs) {
      const now = clock.now();
      await reclaimExpired(now);
      const due = await redis.zrangebyscore(keys.ready, "-inf", now, "LIMIT", 0, max);
      const claimed = await Promise.all(due.map((recipientId) => claimOne(recipientId, now, leaseMs)));
      return claimed.filter((item): item is ClaimedReply => item !== undefined);
    },
    ack: (claimed) => finish(claimed, ""),
    async retry(claimed, delayMs) {
      const { recipientId, token } = JSON.parse(claimed.receipt) as Receipt;
      return (await retryScript(redis, leaseKeys, [recipientId, token, clock.now() + delayMs])) === 1;
    },
    deadLetter(claimed, reason) {
      const record: DeadLetter = {
        reply: claimed.reply,
        reason,
        attempts: claimed.attempt,
        deadAt: clock.now(),
      };
      return finish(claimed, JSON.stringify(record));
    },
    async deadLetters(limit) {
      const records = await redis.lrange(keys.dead, 0, limit - 1);
      return records.map((record) => JSON.parse(record) as DeadLetter);
    },
  };
}
