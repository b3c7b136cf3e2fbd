import { expect } from "chai";
import { DomainError } from "../../core/domain/errors.js";
import type { SessionStore } from "../../core/domain/session.js";
import { createMemorySessionStore } from "../../core/stores/memory/session-store.js";
import { createRedisSessionStore } from "../../core/stores/redis/session-store.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { newId } from "../../lib/ids.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";
import { readPrefix } from "../support/redis-contents.js";

const HOUR_MS = 3_600_000;
const TTL_MS = 24 * HOUR_MS;

type MakeStore = (clock: ManualClock, maxSessions: number) => SessionStore;

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error("expected a rejection");
}

function sessionStoreBehaviour(make: () => MakeStore) {
  let clock: ManualClock;
  let open: SessionStore[];
  const storeWith = (maxSessions = 100) => {
    const store = make()(clock, maxSessions);
    open.push(store);
    return store;
  };

  beforeEach(() => {
    clock = createManualClock();
    open = [];
  });
  afterEach(async () => {
    await Promise.all(open.map((store) => store.close()));
  });

  it("should start a session that expires ttl after its creation", async () => {
    const store = storeWith();
    const { session, created } = await store.start("subject-a", "web");
    expect(created).to.equal(true);
    expect(session.id).to.match(/^ses_/);
    expect(session).to.include({ subjectId: "subject-a", channel: "web", createdAt: clock.now() });
    expect(session.expiresAt).to.equal(session.createdAt + TTL_MS);
    expect(await store.get(session.id)).to.deep.equal(session);
  });

  it("should return the live session when the same subject starts again", async () => {
    const store = storeWith();
    const first = await store.start("subject-a", "web");
    clock.advance(1_000);
    const again = await store.start("subject-a", "web");
    expect(again.created).to.equal(false);
    expect(again.session).to.deep.equal(first.session);
  });

  it("should give each subject its own session", async () => {
    const store = storeWith();
    const a = await store.start("subject-a", "web");
    const b = await store.start("subject-b", "telegram");
    expect(a.session.id).to.not.equal(b.session.id);
    expect((await store.stats()).active).to.equal(2);
  });

  it("should end a live session once", async () => {
    const store = storeWith();
    const { session } = await store.start("subject-a", "web");
    expect(await store.end(session.id)).to.equal(true);
    expect(await store.get(session.id)).to.equal(undefined);
    expect(await store.end(session.id)).to.equal(false);
    const next = await store.start("subject-a", "web");
    expect(next.created).to.equal(true);
    expect(next.session.id).to.not.equal(session.id);
  });

  it("should not know ids it never issued", async () => {
    const store = storeWith();
    expect(await store.get("ses_unknown")).to.equal(undefined);
    expect(await store.end("ses_unknown")).to.equal(false);
  });

  it("should expire a session at createdAt + ttl by the injected clock", async () => {
    const store = storeWith();
    const { session } = await store.start("subject-a", "web");
    clock.advance(TTL_MS - 1);
    expect(await store.get(session.id)).to.deep.equal(session);
    clock.advance(1);
    expect(await store.get(session.id)).to.equal(undefined);
    expect(await store.end(session.id)).to.equal(false);
    const next = await store.start("subject-a", "web");
    expect(next.created).to.equal(true);
    expect((await store.stats()).active).to.equal(1);
  });

  it("should refuse a session past the cap with SESSION_LIMIT_REACHED until the oldest expires", async () => {
    const store = storeWith(2);
    await store.start("subject-a", "web");
    clock.advance(1_000);
    await store.start("subject-b", "web");
    const error = await rejection(store.start("subject-c", "web"));
    expect(error.code).to.equal("SESSION_LIMIT_REACHED");
    expect(error.retryAfterMs).to.equal(TTL_MS - 1_000);
    clock.advance(TTL_MS - 1_000);
    expect((await store.start("subject-c", "web")).created).to.equal(true);
  });

  it("should still return a subject's live session at the cap", async () => {
    const store = storeWith(1);
    const { session } = await store.start("subject-a", "web");
    const again = await store.start("subject-a", "web");
    expect(again).to.deep.equal({ session, created: false });
  });

  it("should count live sessions and those created in the last hour and day", async () => {
    const store = storeWith(50);
    await store.start("subject-a", "web");
    clock.advance(2 * HOUR_MS);
    const { session } = await store.start("subject-b", "web");
    await store.start("subject-c", "web");
    await store.end(session.id);
    expect(await store.stats()).to.deep.equal({ active: 2, createdLastHour: 2, createdLastDay: 3, max: 50 });
    clock.advance(TTL_MS - HOUR_MS);
    expect(await store.stats()).to.deep.equal({ active: 1, createdLastHour: 0, createdLastDay: 2, max: 50 });
  });

  it("should erase a subject's live session and nothing of another subject", async () => {
    const store = storeWith();
    const { session } = await store.start("subject-a", "web");
    const other = await store.start("subject-b", "web");
    await store.eraseSubject("subject-a");
    expect(await store.get(session.id)).to.equal(undefined);
    expect(await store.end(session.id)).to.equal(false);
    expect((await store.stats()).active).to.equal(1);
    expect(await store.get(other.session.id)).to.deep.equal(other.session);
    const next = await store.start("subject-a", "web");
    expect(next.created).to.equal(true);
    expect(next.session.id).to.not.equal(session.id);
  });

  it("should erase an unknown, expired or already erased subject without error", async () => {
    const store = storeWith();
    await store.eraseSubject("subject-unknown");
    await store.start("subject-a", "web");
    clock.advance(TTL_MS);
    await store.eraseSubject("subject-a");
    await store.eraseSubject("subject-a");
    expect((await store.start("subject-a", "web")).created).to.equal(true);
  });

  it("should create exactly one session for 50 concurrent starts of one subject", async () => {
    const store = storeWith(10);
    const results = await Promise.all(Array.from({ length: 50 }, () => store.start("subject-a", "whatsapp")));
    expect(results.filter((result) => result.created)).to.have.length(1);
    expect(new Set(results.map((result) => result.session.id)).size).to.equal(1);
    expect(await store.stats()).to.include({ active: 1, createdLastHour: 1 });
  });
}

describe("createMemorySessionStore", () => {
  sessionStoreBehaviour(
    () => (clock, maxSessions) => createMemorySessionStore({ clock, ids: newId, ttlMs: TTL_MS, maxSessions }),
  );
});

describe("createRedisSessionStore", () => {
  let test: TestRedis;
  beforeEach(async () => {
    test = await createTestRedis();
  });
  afterEach(async () => {
    await test.cleanup();
  });

  sessionStoreBehaviour(
    () => (clock, maxSessions) =>
      createRedisSessionStore({
        redis: test.redis,
        prefix: test.prefix,
        clock,
        ids: newId,
        ttlMs: TTL_MS,
        maxSessions,
      }),
  );

  it("should leave no key naming or holding an erased subject", async () => {
    const clock = createManualClock();
    const options = { clock, ids: newId, ttlMs: TTL_MS, maxSessions: 10, prefix: test.prefix };
    const store = createRedisSessionStore({ ...options, redis: test.redis });
    const { session } = await store.start("subject-a", "sms");
    await store.start("subject-b", "sms");
    await store.eraseSubject("subject-a");
    const stored = await readPrefix(test.redis, test.prefix);
    const mentions = stored.filter((entry) => [entry.key, ...entry.contents].join().includes("subject-a"));
    expect(mentions).to.deep.equal([]);
    const live = stored.find((entry) => entry.key.endsWith(":live"));
    expect(live?.contents).to.not.include(session.id);
  });

  it("should share sessions between two connections", async () => {
    const other = await createTestRedis();
    try {
      const clock = createManualClock();
      const options = { clock, ids: newId, ttlMs: TTL_MS, maxSessions: 10, prefix: test.prefix };
      const one = createRedisSessionStore({ ...options, redis: test.redis });
      const two = createRedisSessionStore({ ...options, redis: other.redis });
      const { session } = await one.start("subject-a", "sms");
      expect(await two.start("subject-a", "sms")).to.deep.equal({ session, created: false });
      expect(await two.end(session.id)).to.equal(true);
      expect(await one.get(session.id)).to.equal(undefined);
    } finally {
      await other.cleanup();
    }
  });
});
