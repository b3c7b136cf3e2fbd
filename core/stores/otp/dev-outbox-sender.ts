import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../../../lib/clock.js";
import { maskPhone } from "../../../lib/redact.js";
import type { RedisClient } from "../../../lib/redis.js";
import { sha256Hex } from "../../../lib/sha256.js";
import type { OtpSender } from "../../domain/step-up-ports.js";

/** One text the development outbox kept instead of sending it. */
export interface DevSms {
  readonly text: string;
  /** When it was "sent", ms since the epoch. */
  readonly sentAtMs: number;
}

/** Where the outbox keeps texts: the shared Redis (readable by `teller chat`), else this process. */
export interface DevOutboxStorage {
  readonly redis?: RedisClient;
  /** First part of every key; default "teller". */
  readonly prefix?: string;
}

/** Settings of createDevOutboxSender. */
export interface DevOutboxOptions extends DevOutboxStorage {
  readonly clock: Clock;
  /** Texts kept per phone, newest first; default 10. */
  readonly maxPerPhone?: number;
  /** How long a phone's texts are kept after the last one, in ms; default 15 minutes. */
  readonly ttlMs?: number;
  /**
   * A file that every text is also appended to, one JSON line each, for `teller chat` to show
   * whichever store the core uses (`teller core` and `teller dev` set DATA_DIR/dev-sms.jsonl).
   */
  readonly file?: string;
}

/** The development sender, which can also show what it kept. */
export interface DevOutbox extends OtpSender {
  /** The texts kept for `phoneNumber`, newest first. */
  read(phoneNumber: string): Promise<DevSms[]>;
}

/**
 * The Redis list of a phone's texts: `<prefix>:dev:sms:<sha256 of the number>`, so no key holds a
 * raw phone number (STYLE.md §2). A plain hash is enough here: development data only.
 */
export function devSmsKey(prefix: string, phoneNumber: string): string {
  return `${prefix}:dev:sms:${sha256Hex(phoneNumber)}`;
}

/**
 * Creates the OtpSender of development (DESIGN.md Identity: "a local outbox in development"): it
 * keeps the last texts per phone, codes included, where `teller chat` can show them. main.ts
 * refuses it in production, where a code must only ever reach the customer's phone.
 */
export function createDevOutboxSender(options: DevOutboxOptions): DevOutbox {
  const max = options.maxPerPhone ?? 10;
  const ttlMs = options.ttlMs ?? 15 * 60_000;
  const memory = new Map<string, DevSms[]>();
  const { redis } = options;
  const prefix = options.prefix ?? "teller";
  return {
    send: async (phoneNumber, text) => {
      const sms: DevSms = { text, sentAtMs: options.clock.now() };
      if (options.file) appendDevSmsFile(options.file, phoneNumber, sms);
      if (!redis) {
        memory.set(phoneNumber, [sms, ...(memory.get(phoneNumber) ?? [])].slice(0, max));
        return "sms";
      }
      const key = devSmsKey(prefix, phoneNumber);
      await redis
        .multi()
        .lpush(key, JSON.stringify(sms))
        .ltrim(key, 0, max - 1)
        .pexpire(key, ttlMs)
        .exec();
      return "sms";
    },
    read: async (phoneNumber) =>
      redis ? readDevSms({ redis, prefix }, phoneNumber) : [...(memory.get(phoneNumber) ?? [])],
  };
}

/**
 * Reads the texts the development outbox kept in Redis for `phoneNumber`, newest first; for
 * `teller chat` and tests, which run beside the core rather than inside it.
 */
export async function readDevSms(storage: DevOutboxStorage, phoneNumber: string): Promise<DevSms[]> {
  if (!storage.redis) return [];
  const items = await storage.redis.lrange(devSmsKey(storage.prefix ?? "teller", phoneNumber), 0, -1);
  return items.map((item) => JSON.parse(item) as DevSms);
}

/** The development SMS file under DATA_DIR, shared by the core and `teller chat`. */
export function devSmsPath(dataDir: string): string {
  return join(dataDir, "dev-sms.jsonl");
}

/** One line of the development SMS file: the masked recipient, the text, when. */
export interface DevSmsLine extends DevSms {
  readonly to: string;
}

function appendDevSmsFile(file: string, phoneNumber: string, sms: DevSms): void {
  const line: DevSmsLine = { to: maskPhone(phoneNumber), ...sms };
  // Development only (never built in production): the file holds live codes, so owner-only.
  appendFileSync(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
}

/**
 * Reads the development SMS file from byte `offset`; returns the complete lines after it and the
 * offset to read from next. A missing file is an empty one.
 */
export function readDevSmsFile(file: string, offset: number): { lines: DevSmsLine[]; offset: number } {
  if (!existsSync(file)) return { lines: [], offset: 0 };
  const content = readFileSync(file);
  const start = offset <= content.length ? offset : 0;
  const chunk = content.subarray(start).toString("utf8");
  const end = chunk.lastIndexOf("\n") + 1;
  const lines = chunk
    .slice(0, end)
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DevSmsLine);
  return { lines, offset: start + Buffer.byteLength(chunk.slice(0, end)) };
}
