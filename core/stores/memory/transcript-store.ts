import type { TranscriptStore } from "../../domain/conversation-ports.js";
import {
  DEFAULT_MAX_TRANSCRIPT_ENTRIES,
  openTranscriptEntries,
  type SealedTranscriptEntry,
  sealTranscriptEntry,
  type TranscriptStoreOptions,
} from "../transcript-sealing.js";

/**
 * Creates a TranscriptStore in process memory for a single instance. Entries are sealed as in
 * Redis, so a heap dump holds no message text and rotation behaves the same. Each append
 * re-inserts its subject at the end of the Map and then drops, from the front, subjects whose
 * newest entry is past the retention, so an idle subject's transcript vanishes without a timer.
 */
export function createMemoryTranscriptStore(options: TranscriptStoreOptions): TranscriptStore {
  const { keyring, clock, retentionMs } = options;
  const maxEntries = options.maxEntries ?? DEFAULT_MAX_TRANSCRIPT_ENTRIES;
  const bySubject = new Map<string, SealedTranscriptEntry[]>();

  const forgetIdle = (cutoff: number) => {
    for (const [subjectId, stored] of bySubject) {
      if ((stored.at(-1)?.at ?? 0) > cutoff) return;
      bySubject.delete(subjectId);
    }
  };

  return {
    async append(subjectId, entries) {
      if (entries.length === 0) return;
      const sealed = entries.map((entry) => sealTranscriptEntry(keyring, subjectId, entry));
      const cutoff = clock.now() - retentionMs;
      const kept = [...(bySubject.get(subjectId) ?? []), ...sealed];
      const firstLive = kept.findIndex((entry) => entry.at > cutoff);
      const live = firstLive < 0 ? [] : kept.slice(firstLive).slice(-maxEntries);
      bySubject.delete(subjectId);
      if (live.length > 0) bySubject.set(subjectId, live);
      forgetIdle(cutoff);
    },
    async list(subjectId) {
      return openTranscriptEntries(options, subjectId, bySubject.get(subjectId) ?? []);
    },
    async erase(subjectId) {
      bySubject.delete(subjectId);
    },
  };
}
