import { expect } from "chai";
import type { MessageLog, StoredHandling } from "../../core/domain/conversation-ports.js";
import { createMemoryMessageLog } from "../../core/stores/memory/message-log.js";
import { createRedisMessageLog, messageLogKey } from "../../core/stores/redis/message-log.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

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

  messageLogBehaviour(() => createRedisMessageLog({ redis: test.redis, prefix: test.prefix }));

  it("should store each handling under the subject's hash tag with a PX expiry", async () => {
    const log = createRedisMessageLog({ redis: test.redis, prefix: test.prefix });
    await log.put("subject-a", "wamid.1", handling, 60_000);
    const key = messageLogKey(test.prefix, "subject-a", "wamid.1");
    expect(key).to.equal(`${test.prefix}:{subject-a}:msg:wamid.1`);
    const ttl = await test.redis.pttl(key);
    expect(ttl).to.be.greaterThan(0).and.at.most(60_000);
  });

  it("should let another connection read what one stored", async () => {
    const other = await createTestRedis();
    try {
      await createRedisMessageLog({ redis: test.redis, prefix: test.prefix }).put(
        "subject-a",
        "m1",
        handling,
        60_000,
      );
      const log = createRedisMessageLog({ redis: other.redis, prefix: test.prefix });
      expect(await log.get("subject-a", "m1")).to.deep.equal(handling);
    } finally {
      await other.cleanup();
    }
  });
});
