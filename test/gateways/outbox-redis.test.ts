import { expect } from "chai";
import { createRedisOutbox } from "../../gateways/outbox/redis-outbox.js";
import { createOutboxWorker } from "../../gateways/outbox/worker.js";
import { createManualClock } from "../../lib/clock.js";
import { recording, slotOf } from "../support/cluster-slots.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";
import { capturingLogger, recordingSender, reply } from "./outbox-support.js";

const ANA = "+447700900001";
const BEN = "+447700900002";

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
