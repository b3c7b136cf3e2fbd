import type { Channel } from "./channel.js";

/** A conversation session of one channel identity, keyed by its pseudonymous subject id. */
export interface Session {
  readonly id: string;
  readonly channel: Channel;
  readonly subjectId: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
  /** createdAt + the session TTL: sessions expire absolutely, not on inactivity. */
  readonly expiresAt: number;
}

/** Counts reported by GetSessionStats. */
export interface SessionStats {
  readonly active: number;
  readonly createdLastHour: number;
  readonly createdLastDay: number;
  readonly max: number;
}

/** Settings shared by every SessionStore implementation. */
export interface SessionStoreOptions {
  /** Absolute lifetime of a session in ms (SESSION_TTL, default 24 h). */
  readonly ttlMs: number;
  /** Cap on live sessions (MAX_SESSIONS, default 10,000). */
  readonly maxSessions: number;
}

/**
 * SessionStore is the port for live sessions. At most one live session per subject; expired
 * sessions are cleaned up by the store (Redis expiry, or a sweep in memory).
 */
export interface SessionStore {
  /**
   * Returns the subject's live session, or creates one. Throws DomainError SESSION_LIMIT_REACHED
   * (with retryAfterMs) when creating would exceed maxSessions.
   */
  start(subjectId: string, channel: Channel): Promise<{ session: Session; created: boolean }>;
  /** The live session with this id, or undefined once it ended or expired. */
  get(sessionId: string): Promise<Session | undefined>;
  /** Ends a live session; false when none was live under that id. */
  end(sessionId: string): Promise<boolean>;
  /**
   * Removes everything kept about the subject's session (EraseSubject): ends a live session and
   * drops the subject's record and index, even when the session already expired. A subject with
   * nothing stored is no error.
   */
  eraseSubject(subjectId: string): Promise<void>;
  /** Live count and creations in the last hour and day. */
  stats(): Promise<SessionStats>;
  /** Stops timers; does not close shared connections. */
  close(): Promise<void>;
}
