import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import { defineScript, hashTag, type RedisClient } from "../../../lib/redis.js";
import type { Channel } from "../../domain/channel.js";
import { DomainError } from "../../domain/errors.js";
import type { Session, SessionStats, SessionStore, SessionStoreOptions } from "../../domain/session.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const START_ATTEMPTS = 5;

/** Collaborators and settings of createRedisSessionStore. */
export interface RedisSessionStoreOptions extends SessionStoreOptions {
  readonly redis: RedisClient;
  readonly clock: Clock;
  readonly ids: IdSource;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/** The key of a subject's session record (JSON), tagged by subject so its scripts stay in one slot. */
export function sessionRecordKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:session`;
}

/** The key mapping a session id to its subject; only ever touched by single-key commands. */
export function sessionIndexKey(prefix: string, sessionId: string): string {
  return `${prefix}:session:${sessionId}`;
}

/** The global sorted sets `[live, created]` (scores: expiresAt, createdAt) the cap and stats scripts use. */
export function sessionCounterKeys(prefix: string): [live: string, created: string] {
  const tag = hashTag("sessions");
  return [`${prefix}:${tag}:live`, `${prefix}:${tag}:created`];
}

// KEYS live, created; ARGV now, dayAgo, max, sessionId, expiresAt → {1} registered, {0, oldestExpiry} full.
const register = defineScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, oldest[2] or ARGV[1]}
end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[4])
return {1}
`);

// KEYS live, created; ARGV now, hourAgo, dayAgo → {live, createdLastHour, createdLastDay}.
const countSessions = defineScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3])
return {redis.call('ZCARD', KEYS[1]), redis.call('ZCOUNT', KEYS[2], '(' .. ARGV[2], '+inf'), redis.call('ZCARD', KEYS[2])}
`);

// KEYS record; ARGV expected value → 1 when deleted.
const deleteIfEqual = defineScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * Creates a SessionStore on Redis, shared by every core instance. Expiry is judged by the
 * injected clock; PX expiry only cleans up. No script crosses hash slots: the cap check
 * registers the session on the `{sessions}` sets, then SET NX claims the subject's record,
 * and a lost race undoes the registration (DESIGN.md, State).
 */
export function createRedisSessionStore(options: RedisSessionStoreOptions): SessionStore {
  const { redis, clock, ids, ttlMs, maxSessions } = options;
  const prefix = options.prefix ?? "teller";
  const counters = sessionCounterKeys(prefix);

  const read = async (subjectId: string, now: number) => {
    const raw = await redis.get(sessionRecordKey(prefix, subjectId));
    if (raw === null) return undefined;
    const session = JSON.parse(raw) as Session;
    return { raw, session, live: session.expiresAt > now };
  };
  const liveSession = async (subjectId: string) => {
    const found = await read(subjectId, clock.now());
    return found?.live ? found.session : undefined;
  };
  const claim = async (session: Session, now: number): Promise<boolean> => {
    const args = [now, now - DAY_MS, maxSessions, session.id, session.expiresAt];
    const [ok, oldest] = (await register(redis, counters, args)) as [number, string?];
    if (ok !== 1) throw limitReached(Number(oldest) - now);
    const json = JSON.stringify(session);
    if ((await redis.set(sessionRecordKey(prefix, session.subjectId), json, "PX", ttlMs, "NX")) === "OK") {
      await redis.set(sessionIndexKey(prefix, session.id), session.subjectId, "PX", ttlMs);
      return true;
    }
    await redis.multi().zrem(counters[0], session.id).zrem(counters[1], session.id).exec();
    return false;
  };
  const attempt = async (subjectId: string, channel: Channel) => {
    const now = clock.now();
    const current = await read(subjectId, now);
    if (current?.live) return { session: current.session, created: false };
    if (current !== undefined)
      await deleteIfEqual(redis, [sessionRecordKey(prefix, subjectId)], [current.raw]);
    const session: Session = { id: ids("ses_"), channel, subjectId, createdAt: now, expiresAt: now + ttlMs };
    return (await claim(session, now)) ? { session, created: true } : undefined;
  };
  const bySessionId = async (sessionId: string) => {
    const subjectId = await redis.get(sessionIndexKey(prefix, sessionId));
    if (subjectId === null) return undefined;
    const found = await read(subjectId, clock.now());
    return found?.session.id === sessionId ? found : undefined;
  };

  return {
    async start(subjectId, channel) {
      for (let i = 0; i < START_ATTEMPTS; i++) {
        try {
          const result = await attempt(subjectId, channel);
          if (result !== undefined) return result;
        } catch (error) {
          // At the cap, a concurrent start of the same subject may have won: hand out its session.
          const full = error instanceof DomainError && error.code === "SESSION_LIMIT_REACHED";
          const winner = full ? await liveSession(subjectId) : undefined;
          if (winner === undefined) throw error;
          return { session: winner, created: false };
        }
      }
      throw new DomainError("UNAVAILABLE", "Could not start a session; please try again.");
    },
    async get(sessionId) {
      const found = await bySessionId(sessionId);
      return found?.live ? found.session : undefined;
    },
    async end(sessionId) {
      const found = await bySessionId(sessionId);
      if (found === undefined) return false;
      const deleted = await deleteIfEqual(
        redis,
        [sessionRecordKey(prefix, found.session.subjectId)],
        [found.raw],
      );
      await redis.del(sessionIndexKey(prefix, sessionId));
      await redis.zrem(counters[0], sessionId);
      return found.live && deleted === 1;
    },
    async eraseSubject(subjectId) {
      const record = sessionRecordKey(prefix, subjectId);
      // The record goes first: once it is gone the session is dead even if the rest fails. A
      // concurrent StartSession may replace it between the read and the delete; then erase that one.
      for (let i = 0; i < START_ATTEMPTS; i++) {
        const raw = await redis.get(record);
        if (raw === null) return;
        const { id } = JSON.parse(raw) as Session;
        if ((await deleteIfEqual(redis, [record], [raw])) !== 1) continue;
        await redis.del(sessionIndexKey(prefix, id));
        await redis.zrem(counters[0], id);
        return;
      }
      throw new DomainError("UNAVAILABLE", "Could not erase the session; please try again.");
    },
    async stats(): Promise<SessionStats> {
      const now = clock.now();
      const [active, createdLastHour, createdLastDay] = (await countSessions(redis, counters, [
        now,
        now - HOUR_MS,
        now - DAY_MS,
      ])) as [number, number, number];
      return { active, createdLastHour, createdLastDay, max: maxSessions };
    },
    async close() {},
  };
}

function limitReached(untilOldestExpiresMs: number): DomainError {
  const retryAfterMs = Math.max(1, Math.ceil(untilOldestExpiresMs));
  return new DomainError("SESSION_LIMIT_REACHED", "The service is at capacity; please try again later.", {
    retryAfterMs,
  });
}
