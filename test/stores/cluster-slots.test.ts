import { expect } from "chai";
import {
  createRedisConversationLock,
  lockLeaseKey,
  lockQueueKey,
} from "../../core/stores/redis/conversation-lock.js";
import { createRedisMessageLog, messageLogKey, sequenceKey } from "../../core/stores/redis/message-log.js";
import {
  createRedisSessionStore,
  sessionCounterKeys,
  sessionIndexKey,
  sessionRecordKey,
} from "../../core/stores/redis/session-store.js";
import { parseKeyring } from "../../lib/aead.js";
import { createManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import { crc16, expectOneSlot, recording, slotOf } from "../support/cluster-slots.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

const SUBJECT = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

describe("Redis Cluster hash slots of the stores", () => {
  let test: TestRedis;
  beforeEach(async () => {
    test = await createTestRedis();
  });
  afterEach(async () => {
    await test.cleanup();
  });

  it("should compute slots as Redis Cluster does", () => {
    // Reference values from the Redis Cluster specification and CLUSTER KEYSLOT.
    expect(crc16(Buffer.from("123456789"))).to.equal(0x31c3);
    expect(slotOf("foo")).to.equal(12182);
    expect(slotOf("{user1000}.following")).to.equal(slotOf("{user1000}.followers"));
    expect(slotOf("foo{}{bar}")).to.equal(crc16(Buffer.from("foo{}{bar}")) % 16384);
    expect(slotOf("foo{{bar}}zap")).to.equal(slotOf("{bar"));
    expect(slotOf("foo{bar}{zap}")).to.equal(slotOf("bar"));
  });

  it("should keep the keys of every script and transaction of the session store in one slot", async () => {
    const keySets: string[][] = [];
    const clock = createManualClock();
    const store = createRedisSessionStore({
      redis: recording(test.redis, keySets),
      prefix: test.prefix,
      clock,
      ids: newId,
      ttlMs: 60_000,
      maxSessions: 2,
    });
    await Promise.all([store.start(SUBJECT, "web"), store.start(SUBJECT, "web")]);
    const { session } = await store.start(SUBJECT, "web");
    await store.start("other-subject", "web");
    await store.start("third-subject", "web").catch(() => "at the cap");
    await store.stats();
    clock.advance(60_000);
    await store.start(SUBJECT, "web");
    await store.end(session.id);
    expect(keySets.length).to.be.greaterThan(3);
    keySets.forEach(expectOneSlot);
    expectOneSlot(sessionCounterKeys(test.prefix));
    expectOneSlot([sessionRecordKey(test.prefix, SUBJECT), lockQueueKey(test.prefix, SUBJECT)]);
    expect(sessionIndexKey(test.prefix, session.id)).to.not.include("{");
  });

  it("should keep the keys of every script and transaction of the conversation lock in one slot", async () => {
    const keySets: string[][] = [];
    const lock = createRedisConversationLock({
      redis: recording(test.redis, keySets),
      prefix: test.prefix,
      maxWaitMs: 50,
    });
    await test.redis.rpush(lockQueueKey(test.prefix, SUBJECT), "crashed-token");
    let release!: () => void;
    const holder = lock.run(SUBJECT, () => new Promise<void>((resolve) => (release = resolve)));
    await lock.run(SUBJECT, async () => "waits").catch(() => "busy");
    release();
    await holder;
    await lock.run(SUBJECT, () => Promise.reject(new Error("fails"))).catch(() => "failed");
    expect(keySets.length).to.be.greaterThan(3);
    keySets.forEach(expectOneSlot);
    expectOneSlot([lockQueueKey(test.prefix, SUBJECT), lockLeaseKey(test.prefix, SUBJECT, "any-token")]);
  });

  it("should put a conversation's message log entries in its subject's slot", async () => {
    const keySets: string[][] = [];
    const keyring = parseKeyring(`k1:${Buffer.alloc(32, 1).toString("base64")}`);
    const log = createRedisMessageLog({
      redis: recording(test.redis, keySets),
      prefix: test.prefix,
      keyring,
    });
    await log.put(SUBJECT, "wamid.1", { sessionId: "ses_1", replies: [], sequence: 1 }, 1_000);
    await log.nextSequence(SUBJECT, 1_000);
    keySets.forEach(expectOneSlot);
    expectOneSlot([
      messageLogKey(test.prefix, SUBJECT, "wamid.1"),
      sequenceKey(test.prefix, SUBJECT),
      sessionRecordKey(test.prefix, SUBJECT),
    ]);
  });
});
