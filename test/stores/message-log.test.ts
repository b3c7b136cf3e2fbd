import { expect } from "chai";
import type { MessageLog, StoredHandling } from "../../core/domain/conversation-ports.js";
import { createMemoryMessageLog } from "../../core/stores/memory/message-log.js";
import {
  createRedisMessageLog,
  messageIndexKey,
  messageLogKey,
  type RedisMessageLogOptions,
  sequenceKey,
} from "../../core/stores/redis/message-log.js";
import { AeadError, parseKeyring } from "../../lib/aead.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";
import { readPrefix } from "../support/redis-contents.js";

const key = (fill: number) => Buffer.alloc(32, fill).toString("base64");
const K1 = parseKeyring(`k1:${key(1)}`);
const K2_THEN_K1 = parseKeyring(`k2:${key(2)},k1:${key(1)}`);

const handling: StoredHandling = {
  sessionId: "ses_1",
  replies: [
    { text: "Your balance is 12.00 EUR.", quickReplies: [{ title: "Transfer", payload: "transfer" }] },
    { text: "Anything else?", quickReplies: [] },
  ],
  sequence: 1,
};

function messageLogBehaviour(make: () => MessageLog) {
  it("should return nothing for a message it never stored", async () => {
    expect(await make().get("subject-a", "wamid.1")).to.equal(undefined);
  });

  it("should return a stored handling unchanged", async () => {
    const log = make();
    await log.put("subject-a", "wamid.1", handling, 60_000);
    expect(await log.get("subject-a", "wamid.1")).to.deep.equal(handling);
  });

  it("should keep the messages of different subjects apart", async () => {
    const log = make();
    await log.put("subject-a", "wamid.1", handling, 60_000);
    expect(await log.get("subject-b", "wamid.1")).to.equal(undefined);
    expect(await log.get("subject-a", "wamid.2")).to.equal(undefined);
  });

  it("should replace a handling stored again under the same key", async () => {
    const log = make();
    await log.put("subject-a", "wamid.1", handling, 60_000);
    const second = { sessionId: "ses_2", replies: [], sequence: 2 };
    await log.put("subject-a", "wamid.1", second, 60_000);
    expect(await log.get("subject-a", "wamid.1")).to.deep.equal(second);
  });

  it("should count a subject's conversation positions from 1, apart from other subjects", async () => {
    const log = make();
    expect(await log.nextSequence("subject-a", 60_000)).to.equal(1);
    expect(await log.nextSequence("subject-a", 60_000)).to.equal(2);
    expect(await log.nextSequence("subject-b", 60_000)).to.equal(1);
    expect(await log.nextSequence("subject-a", 60_000)).to.equal(3);
  });

  it("should forget every handling and the count of an erased subject, and nothing of another", async () => {
    const log = make();
    await log.put("subject-a", "wamid.1", handling, 60_000);
    await log.put("subject-a", "wamid.2", handling, 60_000);
    await log.put("subject-b", "wamid.1", handling, 60_000);
    await log.nextSequence("subject-a", 60_000);
    await log.nextSequence("subject-b", 60_000);
    await log.erase("subject-a");
    await log.erase("subject-unknown");
    expect(await log.get("subject-a", "wamid.1")).to.equal(undefined);
    expect(await log.get("subject-a", "wamid.2")).to.equal(undefined);
    expect(await log.nextSequence("subject-a", 60_000)).to.equal(1);
    expect(await log.get("subject-b", "wamid.1")).to.deep.equal(handling);
    expect(await log.nextSequence("subject-b", 60_000)).to.equal(2);
  });
}

describe("createMemoryMessageLog", () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = createManualClock();
  });

  messageLogBehaviour(() => createMemoryMessageLog({ clock }));

  it("should forget a handling once its ttl has passed on the injected clock", async () => {
    const log = createMemoryMessageLog({ clock });
    await log.put("subject-a", "wamid.1", handling, 1_000);
    clock.advance(999);
    expect(await log.get("subject-a", "wamid.1")).to.deep.equal(handling);
    clock.advance(1);
    expect(await log.get("subject-a", "wamid.1")).to.equal(undefined);
  });

  it("should drop expired entries when new ones arrive", async () => {
    const log = createMemoryMessageLog({ clock });
    await log.put("subject-a", "wamid.1", handling, 1_000);
    clock.advance(2_000);
    await log.put("subject-a", "wamid.2", handling, 1_000);
    expect(await log.get("subject-a", "wamid.1")).to.equal(undefined);
    expect(await log.get("subject-a", "wamid.2")).to.deep.equal(handling);
  });
});

describe("createRedisMessageLog", () => {
  let test: TestRedis;
  beforeEach(async () => {
    test = await createTestRedis();
  });
  afterEach(async () => {
    await test.cleanup();
  });

  const logWith = (options: Partial<RedisMessageLogOptions> = {}) =>
    createRedisMessageLog({ redis: test.redis, prefix: test.prefix, keyring: K1, ...options });

  messageLogBehaviour(() => logWith());

  it("should store each handling under the subject's hash tag with a PX expiry", async () => {
    const log = logWith();
    await log.put("subject-a", "wamid.1", handling, 60_000);
    const key = messageLogKey(test.prefix, "subject-a", "wamid.1");
    expect(key).to.equal(`${test.prefix}:{subject-a}:msg:wamid.1`);
    const ttl = await test.redis.pttl(key);
    expect(ttl).to.be.greaterThan(0).and.at.most(60_000);
  });

  it("should let another connection read what one stored", async () => {
    const other = await createTestRedis();
    try {
      await logWith().put("subject-a", "m1", handling, 60_000);
      const log = logWith({ redis: other.redis });
      expect(await log.get("subject-a", "m1")).to.deep.equal(handling);
    } finally {
      await other.cleanup();
    }
  });
});

describe("createRedisMessageLog sealing", () => {
  let test: TestRedis;
  beforeEach(async () => {
    test = await createTestRedis();
  });
  afterEach(async () => {
    await test.cleanup();
  });

  const logWith = (keyring = K1) =>
    createRedisMessageLog({ redis: test.redis, prefix: test.prefix, keyring });
  const payee: StoredHandling = {
    sessionId: "ses_9",
    replies: [{ text: "Send 25.00 EUR to Alice Martin? Your balance is 1,250.50 EUR.", quickReplies: [] }],
    sequence: 4,
  };

  it("should leave no reply text in Redis: every key under the prefix holds only sealed values", async () => {
    const log = logWith();
    await log.put("subject-a", "wamid.1", payee, 60_000);
    await log.put("subject-a", "wamid.2", handling, 60_000);
    await log.nextSequence("subject-a", 60_000);
    const stored = await readPrefix(test.redis, test.prefix);
    expect(stored.map((entry) => entry.key)).to.include(messageLogKey(test.prefix, "subject-a", "wamid.1"));
    const everything = stored.flatMap((entry) => [entry.key, ...entry.contents]).join("\n");
    for (const secret of ["Alice", "1,250.50", "25.00 EUR", "balance", "Anything else", "Transfer"]) {
      expect(everything).to.not.include(secret);
    }
    expect(await test.redis.get(messageLogKey(test.prefix, "subject-a", "wamid.1"))).to.match(/^v1\.k1\./);
    expect(await log.get("subject-a", "wamid.1")).to.deep.equal(payee);
  });

  it("should refuse a handling copied to another subject or message id", async () => {
    const log = logWith();
    await log.put("subject-a", "wamid.1", payee, 60_000);
    const sealed = (await test.redis.get(messageLogKey(test.prefix, "subject-a", "wamid.1"))) as string;
    for (const [subjectId, messageKey] of [
      ["subject-b", "wamid.1"],
      ["subject-a", "wamid.2"],
    ] as const) {
      await test.redis.set(messageLogKey(test.prefix, subjectId, messageKey), sealed);
      const error = await log.get(subjectId, messageKey).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).to.be.instanceOf(AeadError);
      expect((error as AeadError).code).to.equal("AEAD_AUTH_FAILED");
    }
  });

  it("should read handlings sealed under an older key after rotation", async () => {
    await logWith(K1).put("subject-a", "wamid.1", payee, 60_000);
    expect(await logWith(K2_THEN_K1).get("subject-a", "wamid.1")).to.deep.equal(payee);
  });

  it("should remove every key of an erased subject, whatever the number of messages", async () => {
    const log = logWith();
    const many = Array.from({ length: 1_200 }, (_, i) =>
      log.put("subject-a", `wamid.${i}`, handling, 60_000),
    );
    await Promise.all(many);
    await log.nextSequence("subject-a", 60_000);
    await log.put("subject-b", "wamid.1", handling, 60_000);
    await log.erase("subject-a");
    const left = (await readPrefix(test.redis, test.prefix)).map((entry) => entry.key);
    expect(left.filter((k) => k.includes("subject-a"))).to.deep.equal([]);
    expect(left).to.include.members([
      messageLogKey(test.prefix, "subject-b", "wamid.1"),
      messageIndexKey(test.prefix, "subject-b"),
    ]);
    expect(left).to.not.include(sequenceKey(test.prefix, "subject-a"));
  });

  it("should prune expired message keys from the subject's index", async () => {
    const log = logWith();
    // A member whose entry expired long ago (scores are expiry times on Redis's clock).
    await test.redis.zadd(messageIndexKey(test.prefix, "subject-a"), 1, "wamid.old");
    await log.put("subject-a", "wamid.new", handling, 60_000);
    const index = await test.redis.zrange(messageIndexKey(test.prefix, "subject-a"), 0, -1);
    expect(index).to.deep.equal(["wamid.new"]);
  });
});
