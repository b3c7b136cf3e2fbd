import { expect } from "chai";
import type { Redis } from "ioredis";
import { createRedisOutbox } from "../../gateways/outbox/redis-outbox.js";
import { createOutboxWorker } from "../../gateways/outbox/worker.js";
import { createManualClock } from "../../lib/clock.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";
import { capturingLogger, recordingSender, reply } from "./outbox-support.js";

const ANA = "+447700900001";
const BEN = "+447700900002";

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for key slots (cluster spec, "Keys distribution model"). */
function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of a key: the hash tag between the first `{` and the next `}` if non-empty. */
function slotOf(key: string): number {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(Buffer.from(hashed)) % 16384;
}

/** Wraps a client so every script and transaction records the keys it touches. */
function recording(redis: Redis, keySets: string[][]): Redis {
  const transaction = (multi: object, keys: string[]): object =>
    new Proxy(multi, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (property === "exec") {
          keySets.push(keys);
          return value.bind(target);
        }
        return (...args: unknown[]) => {
          keys.push(String(args[0]));
          value.apply(target, args);
          return transaction(target, keys);
        };
      },
    });
  return new Proxy(redis, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "evalsha" || property === "eval") {
        return (...args: unknown[]) => {
          keySets.push(args.slice(2, 2 + Number(args[1])).map(String));
          return value.apply(target, args);
        };
      }
      if (property === "multi") return () => transaction(value.call(target), []);
      return value.bind(target);
    },
  });
}

async function keysOf(test: TestRedis): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await test.redis.scan(cursor, "MATCH", `${test.prefix}:*`, "COUNT", 500);
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found;
}

describe("Redis outbox keys", () => {
  let test: TestRedis;
  beforeEach(async () => {
    test = await createTestRedis();
  });
  afterEach(async () => {
    await test.cleanup();
  });

  it("should keep the keys of every script and transaction in one cluster slot", async () => {
    const keySets: string[][] = [];
    const clock = createManualClock();
    const outbox = createRedisOutbox({ redis: recording(test.redis, keySets), prefix: test.prefix, clock });
    await outbox.enqueue([reply(ANA, 1), reply(ANA, 2), reply(BEN, 1), reply(BEN, 2), reply(BEN, 3)]);
    const sender = recordingSender((item, attempt) => {
      if (item.recipient === ANA && item.sequence === 1) return { kind: "fatal", reason: "HTTP_400" };
      return attempt === 1 ? { kind: "retry", reason: "HTTP_503" } : { kind: "sent" };
    });
    const worker = createOutboxWorker({
      queue: outbox,
      senders: { whatsapp: sender.sender },
      clock,
      logger: capturingLogger().logger,
      random: () => 0,
    });
    await worker.drain();
    await outbox.claim(1, 1_000).then(() => outbox.enqueue([reply(ANA, 9)]));
    await outbox.claim(1, 1_000);
    clock.advance(1_000);
    await worker.drain();
    expect(sender.sent).to.have.length(5);
    // Enqueue, claim, ack or dead letter, retry or reclaim: each script's first key and key count.
    const shapes = new Set(keySets.map((keys) => `${keys[0].split(":").at(-1)}/${keys.length}`));
    expect([...shapes]).to.include.members(["replies/5", "ready/6", "leases/7", "leases/3"]);
    for (const keys of keySets) {
      expect(new Set(keys.map(slotOf)).size, keys.join(", ")).to.equal(1);
    }
  });

  it("should name every key under one hash tag and never with a phone number", async () => {
    const outbox = createRedisOutbox({ redis: test.redis, prefix: test.prefix, clock: createManualClock() });
    await outbox.enqueue([reply(ANA, 1), reply(BEN, 1)]);
    await outbox.claim(1, 1_000);
    const keys = await keysOf(test);
    expect(keys.length).to.be.at.least(6);
    for (const key of keys) {
      expect(key.startsWith(`${test.prefix}:{outbox}:`), key).to.equal(true);
      expect(key).to.not.match(/7700900/);
    }
  });

  it("should remember a reply's identity for at least 24 hours", async () => {
    const outbox = createRedisOutbox({ redis: test.redis, prefix: test.prefix, clock: createManualClock() });
    await outbox.enqueue([reply(ANA, 1)]);
    const seen = (await keysOf(test)).filter((key) => key.includes(":seen:"));
    expect(seen).to.have.length(1);
    expect(await test.redis.pttl(seen[0])).to.be.at.least(24 * 60 * 60 * 1000);
  });
});
