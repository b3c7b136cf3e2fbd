import { AeadError, type AeadErrorCode, decrypt, encrypt, type Keyring } from "../../lib/aead.js";
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import type { TranscriptEntry } from "../domain/conversation-ports.js";

/** Settings every TranscriptStore shares (issue 5 item 6). */
export interface TranscriptStoreOptions {
  /** config.data.encryption: the first key seals, every key opens. */
  readonly keyring: Keyring;
  /** Judges the retention; entries carry their own `at`. */
  readonly clock: Clock;
  /** TRANSCRIPT_RETENTION in ms: an entry is dropped once `at + retentionMs <= now`. */
  readonly retentionMs: number;
  /** Most entries kept per subject, the oldest dropped first; default 1,000. */
  readonly maxEntries?: number;
  /** Where entries that no longer open are reported (a key removed from the keyring). */
  readonly logger?: Pick<Logger, "warn">;
}

/** The default cap per subject, so one chatty subject cannot fill the store. */
export const DEFAULT_MAX_TRANSCRIPT_ENTRIES = 1_000;

/** One entry as stored: its time in clear (for pruning) and the rest sealed. */
export interface SealedTranscriptEntry {
  readonly at: number;
  readonly sealed: string;
}

/**
 * Seals an entry's direction and text. The AAD names the subject and the entry's time, so an
 * entry copied to another subject, or given another time to dodge the retention, fails to open.
 */
export function sealTranscriptEntry(
  keyring: Keyring,
  subjectId: string,
  entry: TranscriptEntry,
): SealedTranscriptEntry {
  if (!Number.isSafeInteger(entry.at) || entry.at < 0)
    throw new TypeError("a transcript entry's `at` must be epoch ms");
  const plaintext = JSON.stringify({ direction: entry.direction, text: entry.text });
  return { at: entry.at, sealed: encrypt(keyring, plaintext, transcriptAad(subjectId, entry.at)) };
}

/**
 * Opens the entries of one subject that are still within the retention, in the given order.
 * An entry that fails to open (its key was removed from the keyring, or it was altered or moved)
 * is skipped and counted in one warning rather than failing the whole transcript: removing a
 * key is how old data is crypto-shredded (security.md ENC-3), and the rest must stay readable.
 */
export function openTranscriptEntries(
  options: TranscriptStoreOptions,
  subjectId: string,
  stored: readonly SealedTranscriptEntry[],
): TranscriptEntry[] {
  const cutoff = options.clock.now() - options.retentionMs;
  const entries: TranscriptEntry[] = [];
  const skipped = new Map<AeadErrorCode, number>();
  for (const { at, sealed } of stored) {
    if (at <= cutoff) continue;
    try {
      const opened = JSON.parse(
        decrypt(options.keyring, sealed, transcriptAad(subjectId, at)).toString("utf8"),
      );
      entries.push({ direction: opened.direction, text: opened.text, at });
    } catch (err) {
      if (!(err instanceof AeadError)) throw err;
      skipped.set(err.code, (skipped.get(err.code) ?? 0) + 1);
    }
  }
  if (skipped.size > 0) {
    const reasons = Object.fromEntries(skipped);
    options.logger?.warn({ subjectId, reasons }, "skipped transcript entries that no longer open");
  }
  return entries;
}

function transcriptAad(subjectId: string, at: number): string {
  return `transcript:${subjectId}:${at}`;
}
