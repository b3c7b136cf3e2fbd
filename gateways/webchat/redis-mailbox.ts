import { defineScript, hashTag, type RedisClient } from "../../lib/redis.js";
import type { OutboundChoice } from "../outbox/outbox.js";
import { MAILBOX_MAX_ENTRIES, MAILBOX_TTL_MS, type MailboxEntry, type MailboxStore } from "./mailbox.js";

/** Settings of createRedisMailboxStore. */
export interface RedisMailboxOptions {
  readonly redis: RedisClient;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

// KEYS meta (hash: the counter "n" and one "r:<key>" field per stored reply), box (zset: score
// n, member "<n> <json>"); ARGV key, json, ttlMs, maxEntries → n, or 0 for a reply already there.
const putScript = defineScript(`
if redis.call('HSETNX', KEYS[1], 'r:' .. ARGV[1], '1') == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('ZADD', KEYS[2], n, n .. ' ' .. ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return n
`);

/**
 * The mailbox in Redis, shared by every gateway process: the outbox worker of one process may
 * store a reply that a stream held by another process reads. A visitor's two keys share the hash
 * tag of the visitor id (DESIGN.md, State), and both expire `ttlMs` after the last reply.
 */
export function createRedisMailboxStore(options: RedisMailboxOptions): MailboxStore {
  const { redis } = options;
  const ttlMs = options.ttlMs ?? MAILBOX_TTL_MS;
  const maxEntries = options.maxEntries ?? MAILBOX_MAX_ENTRIES;
  const keys = (visitorId: string) => {
    const base = `${options.prefix ?? "teller"}:webchat:${hashTag(visitorId)}`;
    return { meta: `${base}:meta`, box: `${base}:box` };
  };
  return {
    async put(visitorId, entry) {
      const { meta, box } = keys(visitorId);
      const json = JSON.stringify({ key: entry.key, text: entry.text, choices: entry.choices });
      const n = await putScript(redis, [meta, box], [entry.key, json, ttlMs, maxEntries]);
      return Number(n) > 0;
    },
    async read(visitorId, after, limit) {
      const members = await redis.zrangebyscore(keys(visitorId).box, `(${after}`, "+inf", "LIMIT", 0, limit);
      return members.map(decode);
    },
  };
}

function decode(member: string): MailboxEntry {
  const space = member.indexOf(" ");
  const stored = JSON.parse(member.slice(space + 1)) as {
    key: string;
    text: string;
    choices: OutboundChoice[];
  };
  return { id: Number(member.slice(0, space)), ...stored };
}
