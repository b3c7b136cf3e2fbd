import { Writable } from "node:stream";
import { expect } from "chai";
import type { TranscriptEntry, TranscriptStore } from "../../core/domain/conversation-ports.js";
import { createMemoryTranscriptStore } from "../../core/stores/memory/transcript-store.js";
import {
  createRedisTranscriptStore,
  type RedisTranscriptStoreOptions,
  transcriptKey,
} from "../../core/stores/redis/transcript-store.js";
import {
  openTranscriptEntries,
  sealTranscriptEntry,
  type TranscriptStoreOptions,
} from "../../core/stores/transcript-sealing.js";
import { type Keyring, parseKeyring } from "../../lib/aead.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import { expectOneSlot, recording } from "../support/cluster-slots.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

const DAY_MS = 86_400_000;
const RETENTION_MS = 30 * DAY_MS;
const key = (fill: number) => Buffer.alloc(32, fill).toString("base64");
const K1 = parseKeyring(`k1:${key(1)}`);
const K2_THEN_K1 = parseKeyring(`k2:${key(2)},k1:${key(1)}`);
const K2_ONLY = parseKeyring(`k2:${key(2)}`);

/** A real logger whose lines the test reads: skipped entries are reported there. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: "warn", destination }), lines };
}

type MakeStore = (options: TranscriptStoreOptions) => TranscriptStore;

function transcriptBehaviour(make: () => MakeStore) {
  let clock: ManualClock;
  const storeWith = (overrides: Partial<TranscriptStoreOptions> = {}) =>
    make()({ keyring: K1, clock, retentionMs: RETENTION_MS, ...overrides });
  const say = (text: string, direction: "in" | "out" = "in"): TranscriptEntry => ({
    direction,
    text,
    at: clock.now(),
  });

  beforeEach(() => {
    clock = createManualClock();
  });

  it("should list a subject's entries oldest first, across appends", async () => {
    const store = storeWith();
    await store.append("subject-a", [say("balance"), say("Your balance is 12.00 EUR.", "out")]);
    clock.advance(1_000);
    await store.append("subject-a", [say("thanks")]);
    expect(await store.list("subject-a")).to.deep.equal([
      { direction: "in", text: "balance", at: clock.now() - 1_000 },
      { direction: "out", text: "Your balance is 12.00 EUR.", at: clock.now() - 1_000 },
      { direction: "in", text: "thanks", at: clock.now() },
    ]);
  });

  it("should keep subjects apart and return nothing for an unknown subject", async () => {
    const store = storeWith();
    await store.append("subject-a", [say("hello from a")]);
    await store.append("subject-b", [say("hello from b")]);
    expect((await store.list("subject-b")).map((entry) => entry.text)).to.deep.equal(["hello from b"]);
    expect(await store.list("subject-c")).to.deep.equal([]);
  });

  it("should stop returning an entry once it is as old as the retention", async () => {
    const store = storeWith();
    await store.append("subject-a", [say("old")]);
    clock.advance(DAY_MS);
    await store.append("subject-a", [say("newer")]);
    clock.advance(RETENTION_MS - DAY_MS - 1);
    expect((await store.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["old", "newer"]);
    clock.advance(1);
    expect((await store.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["newer"]);
    clock.advance(DAY_MS);
    expect(await store.list("subject-a")).to.deep.equal([]);
  });

  it("should keep only the newest entries beyond the cap", async () => {
    const store = storeWith({ maxEntries: 3 });
    await store.append("subject-a", [say("1"), say("2")]);
    await store.append("subject-a", [say("3"), say("4"), say("5")]);
    expect((await store.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["3", "4", "5"]);
  });

  it("should erase everything of one subject and nothing of another", async () => {
    const store = storeWith();
    await store.append("subject-a", [say("a1"), say("a2")]);
    await store.append("subject-b", [say("b1")]);
    await store.erase("subject-a");
    await store.erase("subject-unknown");
    expect(await store.list("subject-a")).to.deep.equal([]);
    expect((await store.list("subject-b")).map((entry) => entry.text)).to.deep.equal(["b1"]);
    await store.append("subject-a", [say("after")]);
    expect((await store.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["after"]);
  });
}

describe("transcript sealing", () => {
  const clock = createManualClock();
  const options = { keyring: K1, clock, retentionMs: RETENTION_MS };
  const entry: TranscriptEntry = { direction: "out", text: "Alice: 25.00 EUR", at: clock.now() };

  it("should seal an entry so its text is not in the stored form", () => {
    const sealed = sealTranscriptEntry(K1, "subject-a", entry);
    expect(sealed.sealed).to.match(/^v1\.k1\./);
    expect(sealed.sealed).to.not.include("Alice");
    expect(openTranscriptEntries(options, "subject-a", [sealed])).to.deep.equal([entry]);
  });

  it("should skip and report an entry moved to another subject or another time", () => {
    const { logger, lines } = capturingLogger();
    const sealed = sealTranscriptEntry(K1, "subject-a", entry);
    const moved = [sealed, { ...sealed, at: sealed.at + 1 }];
    expect(openTranscriptEntries({ ...options, logger }, "subject-b", [sealed])).to.deep.equal([]);
    expect(openTranscriptEntries({ ...options, logger }, "subject-a", moved)).to.deep.equal([entry]);
    expect(lines.map((line) => line.reasons)).to.deep.equal([
      { AEAD_AUTH_FAILED: 1 },
      { AEAD_AUTH_FAILED: 1 },
    ]);
  });
});

describe("createMemoryTranscriptStore", () => {
  transcriptBehaviour(() => createMemoryTranscriptStore);
});

describe("createRedisTranscriptStore", () => {
  let test: TestRedis;
  let clock: ManualClock;
  beforeEach(async () => {
    test = await createTestRedis();
    clock = createManualClock();
  });
  afterEach(async () => {
    await test.cleanup();
  });

  const storeWith = (keyring: Keyring, overrides: Partial<RedisTranscriptStoreOptions> = {}) =>
    createRedisTranscriptStore({
      redis: test.redis,
      prefix: test.prefix,
      keyring,
      clock,
      retentionMs: RETENTION_MS,
      ...overrides,
    });
  const say = (text: string): TranscriptEntry => ({ direction: "in", text, at: clock.now() });

  transcriptBehaviour(
    () => (options) => createRedisTranscriptStore({ ...options, redis: test.redis, prefix: test.prefix }),
  );

  it("should store only sealed entries, in the subject's slot, expiring after the retention", async () => {
    const keySets: string[][] = [];
    const store = storeWith(K1, { redis: recording(test.redis, keySets) });
    await store.append("subject-a", [say("my IBAN is DE89370400440532013000")]);
    const stored = await test.redis.lrange(transcriptKey(test.prefix, "subject-a"), 0, -1);
    expect(stored).to.have.length(1);
    expect(stored[0]).to.match(/^\d+:v1\.k1\./);
    expect(stored.join()).to.not.include("IBAN");
    const ttl = await test.redis.pttl(transcriptKey(test.prefix, "subject-a"));
    expect(ttl)
      .to.be.greaterThan(RETENTION_MS - 60_000)
      .and.at.most(RETENTION_MS);
    expect(transcriptKey(test.prefix, "subject-a")).to.equal(`${test.prefix}:{subject-a}:transcript`);
    expect(keySets).to.not.deep.equal([]);
    keySets.forEach(expectOneSlot);
  });

  it("should drop expired entries from Redis when the subject appends again", async () => {
    const store = storeWith(K1);
    await store.append("subject-a", [say("old 1"), say("old 2")]);
    clock.advance(RETENTION_MS);
    await store.append("subject-a", [say("new")]);
    expect(await test.redis.llen(transcriptKey(test.prefix, "subject-a"))).to.equal(1);
    expect((await store.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["new"]);
  });

  it("should refuse an entry copied into another subject's transcript", async () => {
    const { logger, lines } = capturingLogger();
    const store = storeWith(K1, { logger });
    await store.append("subject-a", [say("Send 500 EUR to Mallory")]);
    await store.append("subject-b", [say("hi")]);
    const [copied] = await test.redis.lrange(transcriptKey(test.prefix, "subject-a"), 0, 0);
    await test.redis.rpush(transcriptKey(test.prefix, "subject-b"), copied as string);
    expect((await store.list("subject-b")).map((entry) => entry.text)).to.deep.equal(["hi"]);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ subjectId: "subject-b" });
    expect(lines[0]?.reasons).to.deep.equal({ AEAD_AUTH_FAILED: 1 });
  });

  it("should read entries sealed under an older key after rotation, and skip them once the key is removed", async () => {
    await storeWith(K1).append("subject-a", [say("sealed under k1")]);
    const rotated = storeWith(K2_THEN_K1);
    expect((await rotated.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["sealed under k1"]);
    await rotated.append("subject-a", [say("sealed under k2")]);
    const stored = await test.redis.lrange(transcriptKey(test.prefix, "subject-a"), 0, -1);
    expect(stored.map((element) => element.split(".")[1])).to.deep.equal(["k1", "k2"]);
    const { logger, lines } = capturingLogger();
    const shredded = storeWith(K2_ONLY, { logger });
    expect((await shredded.list("subject-a")).map((entry) => entry.text)).to.deep.equal(["sealed under k2"]);
    expect(lines[0]?.reasons).to.deep.equal({ AEAD_UNKNOWN_KEY: 1 });
  });

  it("should remove the subject's key on erase", async () => {
    const store = storeWith(K1);
    await store.append("subject-a", [say("hello")]);
    await store.erase("subject-a");
    expect(await test.redis.exists(transcriptKey(test.prefix, "subject-a"))).to.equal(0);
  });
});
