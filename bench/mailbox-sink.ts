import type { Redis } from "ioredis";
import { MAILBOX_MAX_ENTRIES } from "../gateways/webchat/mailbox.js";
import { createRedisMailboxStore } from "../gateways/webchat/redis-mailbox.js";
import { createRedis } from "../lib/redis.js";
import { BALANCE_REPLY } from "./webhook-client.js";
import type { ReplySink, SinkCounts } from "./webhook-rows.js";

/**
 * Where the web chat's replies arrive in the webhook benchmark: a browser has no address to push
 * to, so the gateway's outbox worker "sends" a reply by storing it in the visitor's mailbox in
 * Redis, which the visitor's event stream reads (gateways/webchat/mailbox.ts). This sink reads
 * the bench visitors' mailboxes the way a stream does, with the gateway's own mailbox store under
 * the gateway child's key prefix, so a row's replies are counted without holding a thousand
 * event streams open against the gateway being measured. One end-to-end reply through a real
 * event stream is checked before the load (bench/channel-checks.ts).
 */

/** A mailbox reader over `visitorIds`, with its own Redis connection. */
export interface MailboxSink extends ReplySink {
  close(): Promise<void>;
}

/**
 * Counts the replies stored for `visitorIds` under the gateway's key `prefix`. Each call reads
 * only what arrived since the last: a mailbox entry's id is its position, so the newest id counts
 * every reply stored, even one a full mailbox has since dropped (which then counts as "other").
 */
export function createMailboxSink(
  redisUrl: string,
  prefix: string,
  visitorIds: readonly string[],
): MailboxSink {
  const redis: Redis = createRedis(redisUrl);
  const store = createRedisMailboxStore({ redis, prefix });
  const lastId = new Map<string, number>();
  let delivered = 0;
  let balance = 0;
  return {
    async counts(): Promise<SinkCounts> {
      const reads = await Promise.all(
        visitorIds.map((visitorId) => store.read(visitorId, lastId.get(visitorId) ?? 0, MAILBOX_MAX_ENTRIES)),
      );
      reads.forEach((entries, i) => {
        const visitorId = visitorIds[i] as string;
        for (const entry of entries) {
          delivered += entry.id - (lastId.get(visitorId) ?? 0);
          lastId.set(visitorId, entry.id);
          if (BALANCE_REPLY.test(entry.text)) balance += 1;
        }
      });
      return { delivered, balance, other: delivered - balance, refused: 0 };
    },
    cpuMs: () => Number.NaN,
    close: async () => {
      await redis.quit();
    },
  };
}
