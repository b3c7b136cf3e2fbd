/**
 * Numbered menus: SMS has no quick replies, so the sender writes them as "Reply 1 for Confirm, 2 for
 * Cancel" and remembers, per recipient, which payload each number stands for; a reply that is just
 * one of those numbers goes to the core as that payload (issue 6, item 5).
 *
 * How "1" comes to mean the latest menu: the sender stores a reply's payloads right before Twilio
 * is asked to deliver it, replacing the recipient's previous menu, and the outbox sends one
 * recipient's replies one at a time in order; so the stored menu is the newest one the customer
 * was sent. A reply without choices leaves the menu as it is. Menus expire after a short TTL, so a
 * number typed long after has its plain meaning again; the core still checks every payload against
 * the conversation's state, so a stale number can at worst be refused, never act out of turn.
 */
import { createHash } from "node:crypto";
import type { Clock } from "../../lib/clock.js";
import type { RedisClient } from "../../lib/redis.js";

/** The menus of every recipient, by Twilio address ("+1555…" or "whatsapp:+1555…"). */
export interface MenuStore {
  /** Remembers the payloads offered to `recipient`, numbered from 1, replacing its last menu. */
  remember(recipient: string, payloads: readonly string[]): Promise<void>;
  /** The payloads of the newest unexpired menu offered to `recipient`. */
  recall(recipient: string): Promise<readonly string[] | undefined>;
}

/** How long a menu answers to its numbers: 10 minutes, about one step of a conversation. */
export const MENU_TTL_MS = 10 * 60_000;

/** Entries the in-memory store keeps before dropping the oldest (a bound, not a target). */
const MEMORY_LIMIT = 10_000;

/**
 * The menu in Redis, one key per recipient: `<prefix>:twilio:menu:<sha256 of the address>`,
 * written with its TTL, so the key never holds a phone number (STYLE.md §2) and a menu shown by
 * one gateway process is read by any other.
 */
export function createRedisMenuStore(options: {
  readonly redis: RedisClient;
  readonly prefix: string;
  readonly ttlMs?: number;
}): MenuStore {
  const { redis, prefix, ttlMs = MENU_TTL_MS } = options;
  const key = (recipient: string) => `${prefix}:twilio:menu:${digest(recipient)}`;
  return {
    async remember(recipient, payloads) {
      await redis.set(key(recipient), JSON.stringify(payloads), "PX", ttlMs);
    },
    async recall(recipient) {
      const raw = await redis.get(key(recipient));
      return raw === null ? undefined : payloadsOf(raw);
    },
  };
}

/** The menu in process memory, for a gateway run without Redis: bounded, expiring by `clock`. */
export function createMemoryMenuStore(options: {
  readonly clock: Clock;
  readonly ttlMs?: number;
}): MenuStore {
  const { clock, ttlMs = MENU_TTL_MS } = options;
  const menus = new Map<string, { payloads: readonly string[]; expiresAt: number }>();
  return {
    async remember(recipient, payloads) {
      const id = digest(recipient);
      menus.delete(id); // Re-inserted last, so the Map's order is the order of use.
      menus.set(id, { payloads: [...payloads], expiresAt: clock.now() + ttlMs });
      if (menus.size > MEMORY_LIMIT) menus.delete(menus.keys().next().value as string);
    },
    async recall(recipient) {
      const menu = menus.get(digest(recipient));
      return menu !== undefined && menu.expiresAt > clock.now() ? menu.payloads : undefined;
    },
  };
}

/**
 * The option number a message is, if it is one: 1–99 alone, with spaces and a "." or ")" after it
 * allowed. Checked before any menu is looked up, so other messages cost no Redis round trip.
 */
export function menuNumber(body: string): number | undefined {
  const match = /^\s*([0-9]{1,2})\s*[.)]?\s*$/.exec(body);
  const number = match === null ? 0 : Number(match[1]);
  return number >= 1 ? number : undefined;
}

function payloadsOf(raw: string): readonly string[] | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) && value.every((p) => typeof p === "string") ? value : undefined;
  } catch {
    return undefined; // Not written by remember(): no menu rather than a wrong one.
  }
}

function digest(recipient: string): string {
  return createHash("sha256").update(`twilio-menu\u0000${recipient}`).digest("base64url");
}
