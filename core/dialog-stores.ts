import type { Clock } from "../lib/clock.js";
import type { RedisClient } from "../lib/redis.js";
import type { CoreConfig } from "./config.js";
import type { PendingStore } from "./domain/dialog/pending.js";
import type { ChannelLinks } from "./domain/links.js";
import { createMemoryPendingStore } from "./stores/memory/pending-store.js";
import { createPostgresChannelLinks } from "./stores/postgres/channel-links.js";
import type { SqlClient } from "./stores/postgres/sql-client.js";
import { createRedisPendingStore } from "./stores/redis/pending-store.js";

/** The stores of the dialog's flows: pending operations (Redis or memory) and channel links (SQL). */
export interface DialogStores {
  readonly pending: PendingStore;
  readonly links: ChannelLinks;
}

/**
 * Builds the dialog's stores. Pending operations are sealed with the data keyring in Redis, as
 * they name payees and amounts; links live beside the ledger, whose customers they point at.
 */
export function createDialogStores(parts: {
  config: CoreConfig;
  clock: Clock;
  redis?: RedisClient;
  prefix: string;
  sql: SqlClient;
}): DialogStores {
  const { config, clock, redis, prefix, sql } = parts;
  return {
    pending: redis
      ? createRedisPendingStore({ redis, prefix, keyring: config.data.encryption })
      : createMemoryPendingStore({ clock }),
    links: createPostgresChannelLinks({ client: sql, clock }),
  };
}
