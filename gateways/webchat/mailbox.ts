import type { Clock } from "../../lib/clock.js";
import type { OutboundChoice } from "../outbox/outbox.js";
import { SESSION_IDLE_SECONDS } from "./session-token.js";

/**
 * The visitor's mailbox: where the web chat's outbox Sender leaves replies and the visitor's event
 * streams read them. A browser has no address to push to, so "sent" means "stored for the visitor";
 * entries stay until the mailbox expires (not when read), so a stream that drops mid-reply and
 * reconnects with Last-Event-ID loses nothing, and a reply stored while no stream is open is read
 * when one opens.
 */

/** One reply waiting for a visitor. */
export interface MailboxEntry {
  /** Position in the visitor's mailbox, from 1: the SSE event id the browser resumes from. */
  readonly id: number;
  /** The reply's identity (inbound message id and index): the browser shows each key once. */
  readonly key: string;
  readonly text: string;
  readonly choices: readonly OutboundChoice[];
}

/** What a store keeps; `wait` is added by createMailbox. */
export interface MailboxStore {
  /** Appends a reply unless one with its key is already there; true when stored now. */
  put(visitorId: string, entry: Omit<MailboxEntry, "id">): Promise<boolean>;
  /** Entries with an id above `after`, oldest first, at most `limit`. */
  read(visitorId: string, after: number, limit: number): Promise<MailboxEntry[]>;
}

/** A store with wake-ups for the streams of this process. */
export interface Mailbox extends MailboxStore {
  /**
   * Resolves when this process stored something for the visitor, after `ms`, or on `signal`,
   * whichever comes first. Another gateway process's puts are seen at the next read, so streams
   * read again at least every `ms`.
   */
  wait(visitorId: string, ms: number, signal?: AbortSignal): Promise<void>;
}

/** How long a mailbox outlives its last reply: the session's inactivity timeout. */
export const MAILBOX_TTL_MS = SESSION_IDLE_SECONDS * 1000;
/** The most replies kept per visitor; older ones are dropped first. */
export const MAILBOX_MAX_ENTRIES = 100;

/** Adds in-process wake-ups to a store, so a stream hears of a reply as soon as it is stored. */
export function createMailbox(store: MailboxStore): Mailbox {
  const waiters = new Map<string, Set<() => void>>();
  return {
    async put(visitorId, entry) {
      const stored = await store.put(visitorId, entry);
      for (const wake of waiters.get(visitorId) ?? []) wake();
      return stored;
    },
    read: (visitorId, after, limit) => store.read(visitorId, after, limit),
    wait(visitorId, ms, signal) {
      return new Promise<void>((resolve) => {
        const set = waiters.get(visitorId) ?? new Set();
        waiters.set(visitorId, set);
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          set.delete(done);
          if (set.size === 0) waiters.delete(visitorId);
          resolve();
        };
        const timer = setTimeout(done, ms);
        set.add(done);
        if (signal?.aborted) done();
        else signal?.addEventListener("abort", done, { once: true });
      });
    },
  };
}

/** Settings of createMemoryMailboxStore. */
export interface MemoryMailboxOptions {
  readonly clock: Clock;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

interface Box {
  next: number;
  expiresAt: number;
  readonly keys: Set<string>;
  entries: MailboxEntry[];
}

/**
 * The mailbox in process memory, for a gateway without REDIS_URL: single-instance only, like the
 * memory outbox it pairs with. Boxes are re-inserted on every put, so the Map's first entries are
 * the least recently used and expired ones are pruned from the front.
 */
export function createMemoryMailboxStore(options: MemoryMailboxOptions): MailboxStore {
  const { clock } = options;
  const ttlMs = options.ttlMs ?? MAILBOX_TTL_MS;
  const maxEntries = options.maxEntries ?? MAILBOX_MAX_ENTRIES;
  const boxes = new Map<string, Box>();
  const live = (visitorId: string): Box | undefined => {
    const box = boxes.get(visitorId);
    return box && box.expiresAt > clock.now() ? box : undefined;
  };
  return {
    async put(visitorId, entry) {
      for (const [id, box] of boxes) {
        if (box.expiresAt > clock.now()) break;
        boxes.delete(id);
      }
      const box = live(visitorId) ?? { next: 1, expiresAt: 0, keys: new Set(), entries: [] };
      if (box.keys.has(entry.key)) return false;
      box.keys.add(entry.key);
      box.entries.push({ ...entry, id: box.next++ });
      box.entries = box.entries.slice(-maxEntries);
      box.expiresAt = clock.now() + ttlMs;
      boxes.delete(visitorId);
      boxes.set(visitorId, box);
      return true;
    },
    async read(visitorId, after, limit) {
      return (live(visitorId)?.entries ?? []).filter((e) => e.id > after).slice(0, limit);
    },
  };
}
