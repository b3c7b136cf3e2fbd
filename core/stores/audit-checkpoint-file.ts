import { mkdir, open, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { CheckpointLine, CheckpointLog, CheckpointRecord } from "../domain/audit-checkpoint.js";

/** The file in AUDIT_CHECKPOINT_DIR that checkpoints are appended to, one JSON line each. */
export const CHECKPOINT_FILE_NAME = "audit-checkpoints.jsonl";

/**
 * How much of the file's end `last()` reads: many lines (one is about 600 bytes), so a torn or
 * foreign last line still leaves a well-formed one to chain from.
 */
const TAIL_BYTES = 64 * 1024;

/** One JSON line of the file: seq as a decimal string, since an int8 does not fit a JSON number. */
export function checkpointLine(record: CheckpointRecord): string {
  const { seq, hash, at, jws } = record;
  return `${JSON.stringify({ seq: seq.toString(), hash, at, jws })}\n`;
}

/** Parses one line; undefined when it is not a checkpoint record. */
function parseRecord(text: string): CheckpointRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: the caller reports the line (verify) or skips it (last).
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { seq, hash, at, jws } = value as Record<string, unknown>;
  if (typeof seq !== "string" || !/^[1-9][0-9]{0,18}$/.test(seq)) return undefined;
  if (typeof hash !== "string" || typeof at !== "number" || typeof jws !== "string") return undefined;
  return { seq: BigInt(seq), hash, at, jws };
}

function linesOf(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

function lastRecord(lines: readonly string[]): CheckpointRecord | undefined {
  for (let i = lines.length - 1; i >= 0; i -= 1) {
    const record = parseRecord(lines[i] as string);
    if (record !== undefined) return record;
  }
  return undefined;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

/** The checkpoint file in a directory (AUDIT_CHECKPOINT_DIR). */
export function checkpointFileIn(dir: string): string {
  return join(dir, CHECKPOINT_FILE_NAME);
}

/**
 * Creates the CheckpointLog on a file (checkpointFileIn(AUDIT_CHECKPOINT_DIR)), the storage the operator
 * ships to WORM (write-once) storage. Each append is ONE write(2) of one line, about 600 bytes, on
 * a descriptor opened with O_APPEND: the kernel moves to the end and writes without another
 * writer interleaving, so two processes appending to a local file never tear each other's lines
 * (POSIX write(2); NFS does not promise this, so share the directory only on a local file system).
 * The file is fsync'ed after each append: a checkpoint is taken to be kept.
 */
export function createFileCheckpointLog(options: { readonly file: string }): CheckpointLog {
  const path = options.file;
  return {
    async last() {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(path, "r");
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
      try {
        const { size } = await handle.stat();
        const length = Math.min(size, TAIL_BYTES);
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, size - length);
        const cut = length < size;
        // The first line of a partial read may be cut short: skip it, and read the whole file
        // only when nothing in the tail parses.
        const found = lastRecord(linesOf(buffer.toString("utf8")).slice(cut ? 1 : 0));
        return found ?? (cut ? lastRecord(linesOf(await readFile(path, "utf8"))) : undefined);
      } finally {
        await handle.close();
      }
    },

    async append(record) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const bytes = Buffer.from(checkpointLine(record), "utf8");
      const handle = await open(path, "a", 0o600);
      try {
        const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
        if (bytesWritten !== bytes.length) throw new Error(`short write to ${path}`);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    },

    async readAll() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
      return linesOf(text).map((line, index): CheckpointLine => {
        const record = parseRecord(line);
        return record === undefined ? { line: index + 1 } : { line: index + 1, record };
      });
    },
  };
}
