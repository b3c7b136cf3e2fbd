import { expect } from "chai";
import type { OutboundReply } from "../../gateways/outbox/outbox.js";
import {
  createMailbox,
  createMemoryMailboxStore,
  type MailboxStore,
} from "../../gateways/webchat/mailbox.js";
import { createRedisMailboxStore } from "../../gateways/webchat/redis-mailbox.js";
import { createWebchatSender } from "../../gateways/webchat/send.js";
import { createManualClock } from "../../lib/clock.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

const VISITOR = "web_AAAAAAAAAAAAAAAAAAAAAA";
const OTHER = "web_BBBBBBBBBBBBBBBBBBBBBB";

const entry = (key: string, text = `reply ${key}`) => ({
  key,
  text,
  choices: [{ title: "Balance", payload: "BALANCE" }],
});

const reply = (messageId: string, index: number, recipient = VISITOR): OutboundReply => ({
  channel: "web",
  recipient,
  messageId,
  sequence: 1,
  index,
  text: `answer ${messageId}:${index}`,
  choices: [],
});

/** The behaviour both stores promise; `expire` makes the mailboxes' time run out. */
function storeContract(make: () => Promise<{ store: MailboxStore; expire(): Promise<void> }>) {
  it("should store a reply key once, number entries from 1 and read after a given id", async () => {
    const { store } = await make();
    expect(await store.put(VISITOR, entry("m1:0"))).to.equal(true);
    expect(await store.put(VISITOR, entry("m1:0", "changed"))).to.equal(false);
    expect(await store.put(VISITOR, entry("m2:0"))).to.equal(true);
    expect(await store.put(OTHER, entry("m1:0"))).to.equal(true);
    expect(await store.read(VISITOR, 0, 10)).to.deep.equal([
      { id: 1, ...entry("m1:0") },
      { id: 2, ...entry("m2:0") },
    ]);
    expect((await store.read(VISITOR, 1, 10)).map((e) => e.key)).to.deep.equal(["m2:0"]);
    expect((await store.read(VISITOR, 0, 1)).map((e) => e.key)).to.deep.equal(["m1:0"]);
    expect((await store.read(OTHER, 0, 10)).map((e) => e.id)).to.deep.equal([1]);
  });

  it("should keep the newest 100 replies and forget the mailbox after its TTL", async () => {
    const { store, expire } = await make();
    for (let i = 1; i <= 105; i++) await store.put(VISITOR, entry(`m${i}:0`));
    const kept = await store.read(VISITOR, 0, 200);
    expect(kept.map((e) => e.id)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 6));
    await expire();
    expect(await store.read(VISITOR, 0, 200)).to.deep.equal([]);
  });
}

describe("web chat mailbox", () => {
  describe("in memory", () => {
    storeContract(async () => {
      const clock = createManualClock();
      return {
        store: createMemoryMailboxStore({ clock, ttlMs: 60_000 }),
        expire: async () => clock.advance(60_001),
      };
    });
  });

  describe("in Redis", () => {
    let redis: TestRedis;
    beforeEach(async () => {
      redis = await createTestRedis();
    });
    afterEach(() => redis.cleanup());
    storeContract(async () => ({
      store: createRedisMailboxStore({ redis: redis.redis, prefix: redis.prefix, ttlMs: 60_000 }),
      expire: async () => {
        const keys = await redis.redis.keys(`${redis.prefix}:webchat:*`);
        for (const key of keys) expect(await redis.redis.pttl(key)).to.be.within(1, 60_000);
        await redis.redis.del(...keys);
      },
    }));

    it("should keep a visitor's keys in one cluster slot", async () => {
      const store = createRedisMailboxStore({ redis: redis.redis, prefix: redis.prefix });
      await store.put(VISITOR, entry("m1:0"));
      const keys = await redis.redis.keys(`${redis.prefix}:webchat:*`);
      expect(keys.sort()).to.deep.equal([
        `${redis.prefix}:webchat:{${VISITOR}}:box`,
        `${redis.prefix}:webchat:{${VISITOR}}:meta`,
      ]);
    });
  });

  it("should wake a waiting stream when a reply for its visitor is stored, and only then", async () => {
    const mailbox = createMailbox(createMemoryMailboxStore({ clock: createManualClock() }));
    const events: string[] = [];
    const mine = mailbox.wait(VISITOR, 60_000).then(() => events.push("mine"));
    const other = new AbortController();
    const theirs = mailbox.wait(OTHER, 60_000, other.signal).then(() => events.push("theirs"));
    await mailbox.put(VISITOR, entry("m1:0"));
    await mine;
    expect(events).to.deep.equal(["mine"]);
    other.abort();
    await theirs;
    expect(events).to.deep.equal(["mine", "theirs"]);
  });
});

describe("web chat Sender", () => {
  it("should store each reply in its visitor's mailbox once, keyed by message id and index", async () => {
    const store = createMemoryMailboxStore({ clock: createManualClock() });
    const sender = createWebchatSender(store);
    expect(await sender.send(reply("m1", 0))).to.deep.equal({ kind: "sent" });
    expect(await sender.send(reply("m1", 0))).to.deep.equal({ kind: "sent" });
    expect(await sender.send(reply("m1", 1))).to.deep.equal({ kind: "sent" });
    expect((await store.read(VISITOR, 0, 10)).map((e) => [e.key, e.text])).to.deep.equal([
      ["m1:0", "answer m1:0"],
      ["m1:1", "answer m1:1"],
    ]);
  });

  it("should retry when the mailbox cannot be written, and give up on a recipient that is no visitor", async () => {
    const broken: MailboxStore = {
      put: async () => {
        throw new Error("Connection is closed.");
      },
      read: async () => [],
    };
    const sender = createWebchatSender(broken);
    expect(await sender.send(reply("m1", 0))).to.deep.equal({ kind: "retry", reason: "mailbox Error" });
    expect((await sender.send(reply("m1", 0, "+447700900123"))).kind).to.equal("fatal");
  });
});
