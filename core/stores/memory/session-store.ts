import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import type { Channel } from "../../domain/channel.js";
import { DomainError } from "../../domain/errors.js";
import type { Session, SessionStats, SessionStore, SessionStoreOptions } from "../../domain/session.js";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Collaborators and settings of createMemorySessionStore. */
export interface MemorySessionStoreOptions extends SessionStoreOptions {
  readonly clock: Clock;
  readonly ids: IdSource;
  /** How often expired sessions are swept, in ms; default 60,000. */
  readonly sweepIntervalMs?: number;
}

/**
 * Creates a SessionStore in process memory, for a single instance without REDIS_URL
 * (DESIGN.md, State). Expiry is judged by the injected clock on every read; an unref'd timer
 * also sweeps expired sessions so memory stays bounded while nobody reads.
 */
export function createMemorySessionStore(options: MemorySessionStoreOptions): SessionStore {
  const { clock, ids, ttlMs, maxSessions } = options;
  const byId = new Map<string, Session>();
  const bySubject = new Map<string, string>();
  const createdAt: number[] = [];

  const remove = (session: Session) => {
    byId.delete(session.id);
    if (bySubject.get(session.subjectId) === session.id) bySubject.delete(session.subjectId);
  };
  const sweep = (now: number) => {
    for (const session of byId.values()) {
      if (session.expiresAt <= now) remove(session);
    }
    while (createdAt.length > 0 && (createdAt[0] ?? now) <= now - DAY_MS) createdAt.shift();
  };
  const live = (sessionId: string | undefined, now: number) => {
    const session = sessionId === undefined ? undefined : byId.get(sessionId);
    if (session === undefined || session.expiresAt > now) return session;
    remove(session);
    return undefined;
  };
  const timer = setInterval(() => sweep(clock.now()), options.sweepIntervalMs ?? 60_000);
  timer.unref();

  return {
    async start(subjectId: string, channel: Channel) {
      const now = clock.now();
      const existing = live(bySubject.get(subjectId), now);
      if (existing !== undefined) return { session: existing, created: false };
      sweep(now);
      if (byId.size >= maxSessions) throw limitReached(oldestExpiry(byId.values()) - now);
      const session: Session = {
        id: ids("ses_"),
        channel,
        subjectId,
        createdAt: now,
        expiresAt: now + ttlMs,
      };
      byId.set(session.id, session);
      bySubject.set(subjectId, session.id);
      createdAt.push(now);
      return { session, created: true };
    },
    async get(sessionId) {
      return live(sessionId, clock.now());
    },
    async end(sessionId) {
      const session = live(sessionId, clock.now());
      if (session === undefined) return false;
      remove(session);
      return true;
    },
    async eraseSubject(subjectId) {
      const session = byId.get(bySubject.get(subjectId) ?? "");
      if (session !== undefined) remove(session);
      bySubject.delete(subjectId);
    },
    async stats(): Promise<SessionStats> {
      const now = clock.now();
      sweep(now);
      return {
        active: byId.size,
        createdLastHour: createdAt.filter((at) => at > now - HOUR_MS).length,
        createdLastDay: createdAt.length,
        max: maxSessions,
      };
    },
    async close() {
      clearInterval(timer);
    },
  };
}

function limitReached(untilOldestExpiresMs: number): DomainError {
  const retryAfterMs = Math.max(1, Math.ceil(untilOldestExpiresMs));
  return new DomainError("SESSION_LIMIT_REACHED", "The service is at capacity; please try again later.", {
    retryAfterMs,
  });
}

function oldestExpiry(sessions: Iterable<Session>): number {
  let oldest = Number.POSITIVE_INFINITY;
  for (const session of sessions) oldest = Math.min(oldest, session.expiresAt);
  return oldest;
}
