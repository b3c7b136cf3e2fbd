import { defineScript, hashTag, type RedisClient } from "../../../lib/redis.js";
import type { TranscriptStore } from "../../domain/conversation-ports.js";
import {
  DEFAULT_MAX_TRANSCRIPT_ENTRIES,
  openTranscriptEntries,
  type SealedTranscriptEntry,
  sealTranscriptEntry,
  type TranscriptStoreOptions,
} from "../transcript-sealing.js";

/** Collaborators and settings of createRedisTranscriptStore. */
export interface RedisTranscriptStoreOptions extends TranscriptStoreOptions {
  readonly redis: RedisClient;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/**
 * The key of a subject's transcript: a list of `<at>:<sealed entry>`, oldest first, in the
 * subject's slot beside its session and lock (DESIGN.md, State).
 */
export function transcriptKey(prefix: string, subjectId: string): string {
  return `${prefix}:${hashTag(subjectId)}:transcript`;
}

// KEYS list; ARGV cutoff, maxEntries, retentionMs, element… One script: the append, the pruning
// and the expiry move together. Heads at or before the cutoff (or unreadable) are popped; the
// key expires a retention after the last append, so an idle subject's transcript vanishes.
const appendScript = defineScript(`
for i = 4, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
local cutoff = tonumber(ARGV[1])
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local at = tonumber(string.match(head, '^(%d+):'))
  if at ~= nil and at > cutoff then break end
  redis.call('LPOP', KEYS[1])
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return redis.call('LLEN', KEYS[1])
`);

/**
 * Creates a TranscriptStore on Redis, shared by every core instance. Each entry is sealed with
 * AES-256-GCM (lib/aead) before it leaves the process, so a Redis dump or replica holds no
 * message text; its time stays in clear so the retention is enforced inside Redis.
 */
export function createRedisTranscriptStore(options: RedisTranscriptStoreOptions): TranscriptStore {
  const { redis, keyring, clock, retentionMs } = options;
  const prefix = options.prefix ?? "teller";
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_TRANSCRIPT_ENTRIES;
  return {
    async append(subjectId, entries) {
      if (entries.length === 0) return;
      const elements = entries.map((entry) => {
        const { at, sealed } = sealTranscriptEntry(keyring, subjectId, entry);
        return `${at}:${sealed}`;
      });
      const cutoff = clock.now() - retentionMs;
      await appendScript(
        redis,
        [transcriptKey(prefix, subjectId)],
        [cutoff, maxEntries, retentionMs, ...elements],
      );
    },
    async list(subjectId) {
      const elements = await redis.lrange(transcriptKey(prefix, subjectId), 0, -1);
      return openTranscriptEntries(options, subjectId, elements.map(parseElement));
    },
    async erase(subjectId) {
      await redis.del(transcriptKey(prefix, subjectId));
    },
  };
}

function parseElement(element: string): SealedTranscriptEntry {
  const separator = element.indexOf(":");
  // A malformed element has no time: at 0 it is past any retention and is never opened.
  const at = separator > 0 ? Number(element.slice(0, separator)) : 0;
  return { at: Number.isSafeInteger(at) ? at : 0, sealed: element.slice(separator + 1) };
}
