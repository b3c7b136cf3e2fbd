import type { Clock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import type { Logger } from "../lib/logger.js";
import type { RedisClient } from "../lib/redis.js";
import type { CoreConfig } from "./config.js";
import type { ConversationLock, MessageLog, TranscriptStore } from "./domain/conversation-ports.js";
import type { SessionStore } from "./domain/session.js";
import { createMemoryConversationLock } from "./stores/memory/conversation-lock.js";
import { createMemoryMessageLog } from "./stores/memory/message-log.js";
import { createMemorySessionStore } from "./stores/memory/session-store.js";
import { createMemoryTranscriptStore } from "./stores/memory/transcript-store.js";
import { createRedisConversationLock } from "./stores/redis/conversation-lock.js";
import { createRedisMessageLog } from "./stores/redis/message-log.js";
import { createRedisSessionStore } from "./stores/redis/session-store.js";
import { createRedisTranscriptStore } from "./stores/redis/transcript-store.js";

/** The per-subject state of conversations, in Redis when configured, else in this process. */
export interface StateStores {
  sessions: SessionStore;
  messages: MessageLog;
  lock: ConversationLock;
  transcripts: TranscriptStore;
}

export function createStateStores(parts: {
  config: CoreConfig;
  clock: Clock;
  logger: Logger;
  redis?: RedisClient;
  prefix: string;
}): StateStores {
  const { clock, config, logger, redis, prefix } = parts;
  const sessionOptions = { clock, ids: newId, ttlMs: config.sessionTtlMs, maxSessions: config.maxSessions };
  const keyring = config.data.encryption;
  const transcriptOptions = { keyring, clock, retentionMs: config.data.transcriptRetentionMs, logger };
  if (!redis) {
    return {
      sessions: createMemorySessionStore(sessionOptions),
      messages: createMemoryMessageLog({ clock }),
      lock: createMemoryConversationLock({}),
      transcripts: createMemoryTranscriptStore(transcriptOptions),
    };
  }
  return {
    sessions: createRedisSessionStore({ ...sessionOptions, redis, prefix }),
    messages: createRedisMessageLog({ redis, prefix, keyring }),
    lock: createRedisConversationLock({ redis, prefix }),
    transcripts: createRedisTranscriptStore({ ...transcriptOptions, redis, prefix }),
  };
}
