/** A reply as the domain sees it: plain text and optional quick replies. */
export interface Reply {
  readonly text: string;
  readonly quickReplies: readonly QuickReply[];
}

/** A choice offered under a reply; `payload` comes back as the next message's action payload. */
export interface QuickReply {
  readonly title: string;
  readonly payload: string;
}

/** What HandleMessage stored for a message id, returned unchanged to a repeat. */
export interface StoredHandling {
  readonly sessionId: string;
  readonly replies: readonly Reply[];
  /** Position of the message in its conversation, from 1, in handling order. */
  readonly sequence: number;
}

/**
 * MessageLog remembers each handled message of a subject so a provider retry gets the first
 * handling's replies and nothing runs twice (DESIGN.md, ConversationService).
 */
export interface MessageLog {
  /** The stored handling of `messageKey` for this subject, if any. */
  get(subjectId: string, messageKey: string): Promise<StoredHandling | undefined>;
  /** Stores a handling; kept for `ttlMs`. */
  put(subjectId: string, messageKey: string, handling: StoredHandling, ttlMs: number): Promise<void>;
  /**
   * The next position in the subject's conversation (1, 2, …). Called under the subject's lock;
   * the count is forgotten `ttlMs` after the last call.
   */
  nextSequence(subjectId: string, ttlMs: number): Promise<number>;
  /** Forgets every handling and the position count of the subject (EraseSubject). */
  erase(subjectId: string): Promise<void>;
}

/**
 * ConversationLock serialises the messages of one subject: `run` calls `fn` only after every
 * earlier caller for the same subject has finished, in arrival order, across processes sharing
 * the store. A holder that dies loses the lock after its lease; a waiter that waits longer than
 * the store's wait limit gets DomainError CONVERSATION_BUSY.
 */
export interface ConversationLock {
  run<T>(subjectId: string, fn: () => Promise<T>): Promise<T>;
}

/**
 * RateGate consumes one unit of a limit for a key and throws DomainError RATE_LIMITED with
 * retryAfterMs when the limit is reached.
 */
export interface RateGate {
  consume(key: string): Promise<void>;
}

/** One line of a conversation: what the customer sent ("in") or Teller answered ("out"). */
export interface TranscriptEntry {
  readonly direction: "in" | "out";
  /** Plain text, card numbers already masked. */
  readonly text: string;
  /** When it was handled, epoch ms. */
  readonly at: number;
}

/**
 * TranscriptStore keeps each subject's transcript sealed at rest (AES-256-GCM under a key id,
 * issue 5 item 6) and forgets entries older than the configured retention.
 */
export interface TranscriptStore {
  /** Appends entries in order; drops the subject's entries older than the retention. */
  append(subjectId: string, entries: readonly TranscriptEntry[]): Promise<void>;
  /** The subject's entries within the retention, oldest first. */
  list(subjectId: string): Promise<readonly TranscriptEntry[]>;
  /** Removes everything kept for the subject. */
  erase(subjectId: string): Promise<void>;
}

/**
 * One kind of data kept about a subject that EraseSubject removes (sessions, transcripts, the
 * message log, channel links, a pending operation). The audit trail is not one: it keeps its
 * pseudonymous entries (DESIGN.md, Banking).
 */
export interface SubjectData {
  /** For logs and the erasure's audit event, e.g. "sessions". */
  readonly name: string;
  erase(subjectId: string): Promise<void>;
}
