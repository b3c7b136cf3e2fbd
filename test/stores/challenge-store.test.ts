import { expect } from "chai";
import type { ChallengeStore, StoredChallenge } from "../../core/domain/step-up-ports.js";
import { createMemoryChallengeStore } from "../../core/stores/memory/challenge-store.js";
import { challengeKey, createRedisChallengeStore } from "../../core/stores/redis/challenge-store.js";
import { createManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

const challenge = (): StoredChallenge => ({
  id: newId("chl_"),
  customerId: "cus_1",
  purpose: "transfer",
  bindingHash: "b".repeat(64),
  codeHash: "c".repeat(64),
  method: "sms",
  expiresAtMs: Date.now() + 300_000,
});

for (const kind of ["memory", "redis"] as const) {
  describe(`ChallengeStore (${kind})`, () => {
    let handle: TestRedis | undefined;
    let store: ChallengeStore;
    beforeEach(async () => {
      if (kind === "redis") {
        handle = await createTestRedis();
        store = createRedisChallengeStore({ redis: handle.redis, prefix: handle.prefix });
      } else {
        store = createMemoryChallengeStore({ clock: createManualClock(Date.now()) });
      }
    });
    afterEach(async () => handle?.cleanup());

    it("should keep a challenge as it was stored", async () => {
      const c = challenge();
      await store.create(c, 300_000);
      expect(await store.get(c.id)).to.deep.equal(c);
      expect(await store.get("chl_unknown")).to.equal(undefined);
    });

    it("should count failures atomically and delete the challenge at the limit", async () => {
      const c = challenge();
      await store.create(c, 300_000);
      const left = await Promise.all([1, 2, 3, 4].map(() => store.recordFailure(c.id, 5)));
      expect([...left].sort()).to.deep.equal([1, 2, 3, 4]);
      expect(await store.recordFailure(c.id, 5)).to.equal(0);
      expect(await store.get(c.id)).to.equal(undefined);
      expect(await store.recordFailure(c.id, 5)).to.equal(0);
    });

    it("should let exactly one of many concurrent callers consume a challenge", async () => {
      const c = challenge();
      await store.create(c, 300_000);
      const wins = await Promise.all(Array.from({ length: 20 }, () => store.consume(c.id)));
      expect(wins.filter(Boolean)).to.have.length(1);
      expect(await store.get(c.id)).to.equal(undefined);
    });

    it("should delete a challenge on request", async () => {
      const c = challenge();
      await store.create(c, 300_000);
      await store.delete(c.id);
      expect(await store.consume(c.id)).to.equal(false);
    });
  });
}

describe("ChallengeStore expiry", () => {
  it("should forget a memory challenge when the clock passes its TTL", async () => {
    const clock = createManualClock(Date.now());
    const store = createMemoryChallengeStore({ clock });
    const c = challenge();
    await store.create(c, 300_000);
    clock.advance(299_999);
    expect(await store.get(c.id)).to.deep.equal(c);
    clock.advance(1);
    expect(await store.get(c.id)).to.equal(undefined);
    expect(await store.consume(c.id)).to.equal(false);
  });

  it("should give a Redis challenge one hash-tagged key with a PX expiry and no code in it", async () => {
    const handle = await createTestRedis();
    try {
      const store = createRedisChallengeStore({ redis: handle.redis, prefix: handle.prefix });
      const c = challenge();
      await store.create(c, 300_000);
      const key = challengeKey(handle.prefix, c.id);
      expect(key).to.equal(`${handle.prefix}:{stepup:${c.id}}:challenge`);
      const ttl = await handle.redis.pttl(key);
      expect(ttl).to.be.greaterThan(0).and.at.most(300_000);
      expect(Object.keys(await handle.redis.hgetall(key)).sort()).to.deep.equal([
        "binding",
        "code",
        "customer",
        "expires",
        "failures",
        "method",
        "purpose",
      ]);
    } finally {
      await handle.cleanup();
    }
  });
});
