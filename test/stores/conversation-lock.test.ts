import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import type { ConversationLock } from "../../core/domain/conversation-ports.js";
import { DomainError } from "../../core/domain/errors.js";
import { createMemoryConversationLock } from "../../core/stores/memory/conversation-lock.js";
import { createRedisConversationLock, lockQueueKey } from "../../core/stores/redis/conversation-lock.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

/** What one implementation gives the shared suite. */
interface LockFixture {
  /** Two locks over the same store; for Redis they use two connections, as two processes would. */
  readonly locks: readonly [ConversationLock, ConversationLock];
  /** Resolves once `count` callers of the subject have arrived and not yet left. */
  arrivals(subjectId: string, count: number): Promise<void>;
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error("expected a rejection");
}

function conversationLockBehaviour(make: (maxWaitMs?: number) => LockFixture) {
  it("should run the calls of one subject one at a time in arrival order, across two clients", async () => {
    const fixture = make();
    const held = gate();
    const finished: number[] = [];
    let active = 0;
    let mostActive = 0;
    const work = (index: number) => async () => {
      active += 1;
      mostActive = Math.max(mostActive, active);
      if (index === 0) await held.opened;
      await sleep(index % 3);
      finished.push(index);
      active -= 1;
      return index;
    };
    const calls: Promise<number>[] = [];
    for (let index = 0; index < 10; index++) {
      calls.push(fixture.locks[index % 2].run("subject-a", work(index)));
      await fixture.arrivals("subject-a", index + 1);
    }
    held.open();
    expect(await Promise.all(calls)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(finished).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(mostActive).to.equal(1);
  });

  it("should run different subjects in parallel", async () => {
    const { locks } = make();
    const held = gate();
    const first = locks[0].run("subject-a", () => held.opened);
    expect(await locks[1].run("subject-b", async () => "ran while subject-a was held")).to.be.a("string");
    held.open();
    await first;
  });

  it("should pass fn's rejection on and release the lock", async () => {
    const { locks } = make();
    const failure = new Error("boom");
    let caught: unknown;
    await locks[0]
      .run("subject-a", () => Promise.reject(failure))
      .catch((error: unknown) => {
        caught = error;
      });
    expect(caught).to.equal(failure);
    expect(await locks[1].run("subject-a", async () => "next")).to.equal("next");
  });

  it("should refuse a caller that waited past maxWaitMs with CONVERSATION_BUSY and let later callers in", async () => {
    const fixture = make(30);
    const held = gate();
    const holder = fixture.locks[0].run("subject-a", () => held.opened);
    await fixture.arrivals("subject-a", 1);
    const error = await rejection(fixture.locks[1].run("subject-a", async () => "never"));
    expect(error.code).to.equal("CONVERSATION_BUSY");
    expect(error.retryAfterMs).to.be.greaterThan(0);
    held.open();
    await holder;
    expect(await fixture.locks[1].run("subject-a", async () => "after")).to.equal("after");
  });
}

describe("createMemoryConversationLock", () => {
  conversationLockBehaviour((maxWaitMs) => {
    // One process: both "clients" are the same lock, and arrival is the call itself.
    const lock = createMemoryConversationLock({ maxWaitMs });
    return { locks: [lock, lock], arrivals: async () => {} };
  });
});

describe("createRedisConversationLock", () => {
  let one: TestRedis;
  let two: TestRedis;
  beforeEach(async () => {
    [one, two] = await Promise.all([createTestRedis(), createTestRedis()]);
  });
  afterEach(async () => {
    await Promise.all([one.cleanup(), two.cleanup()]);
  });

  const arrivals = async (subjectId: string, count: number) => {
    while ((await one.redis.llen(lockQueueKey(one.prefix, subjectId))) < count) await sleep(1);
  };

  conversationLockBehaviour((maxWaitMs) => ({
    locks: [
      createRedisConversationLock({ redis: one.redis, prefix: one.prefix, maxWaitMs }),
      createRedisConversationLock({ redis: two.redis, prefix: one.prefix, maxWaitMs }),
    ],
    arrivals,
  }));

  it("should skip a crashed holder whose lease is gone", async () => {
    await one.redis.rpush(lockQueueKey(one.prefix, "subject-a"), "crashed-token");
    const lock = createRedisConversationLock({ redis: one.redis, prefix: one.prefix });
    expect(await lock.run("subject-a", async () => "ran")).to.equal("ran");
  });

  it("should keep a slow holder's lease alive so waiters do not overtake it", async () => {
    const options = { prefix: one.prefix, leaseMs: 60 };
    const slow = createRedisConversationLock({ ...options, redis: one.redis });
    const waiter = createRedisConversationLock({ ...options, redis: two.redis });
    const events: string[] = [];
    const first = slow.run("subject-a", async () => {
      events.push("slow start");
      await sleep(300);
      events.push("slow end");
    });
    await arrivals("subject-a", 1);
    await waiter.run("subject-a", async () => {
      events.push("waiter");
    });
    await first;
    expect(events).to.deep.equal(["slow start", "slow end", "waiter"]);
  });

  it("should leave no lock keys behind once every caller is done", async () => {
    const lock = createRedisConversationLock({ redis: one.redis, prefix: one.prefix });
    await Promise.all([1, 2, 3].map((n) => lock.run("subject-a", async () => n)));
    const [, keys] = await one.redis.scan("0", "MATCH", `${one.prefix}:*`, "COUNT", 1000);
    expect(keys).to.deep.equal([]);
  });
});
