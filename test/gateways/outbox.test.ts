import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { createMemoryOutbox } from "../../gateways/outbox/memory-outbox.js";
import { createRedisOutbox } from "../../gateways/outbox/redis-outbox.js";
import { createOutboxWorker, type OutboxWorkerOptions } from "../../gateways/outbox/worker.js";
import { createManualClock } from "../../lib/clock.js";
import { createRedis, waitForRedis } from "../../lib/redis.js";
import { createTestRedis, redisUrl } from "../support/redis.js";
import {
  capturingLogger,
  gate,
  type OutboxFixture,
  recordingSender,
  reply,
  until,
} from "./outbox-support.js";

const ANA = "+447700900001";
const BEN = "+447700900002";

function outboxBehaviour(make: () => Promise<OutboxFixture>) {
  let fixture: OutboxFixture;
  beforeEach(async () => {
    fixture = await make();
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  const worker = (sender = recordingSender(), settings: Partial<OutboxWorkerOptions> = {}, which = 0) =>
    createOutboxWorker({
      queue: fixture.outboxes[which],
      senders: { whatsapp: sender.sender },
      clock: fixture.clock,
      logger: capturingLogger().logger,
      random: () => 0,
      ...settings,
    });

  it("should deliver a reply enqueued twice once", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1), reply(ANA, 1)]);
    await outbox.enqueue([reply(ANA, 1)]);
    expect(await outbox.depth()).to.equal(1);
    const sender = recordingSender();
    await worker(sender).drain();
    expect(sender.sent).to.deep.equal([`${ANA}/1.0`]);
    expect(await outbox.depth()).to.equal(0);
  });

  it("should store nothing when a delivered reply is enqueued again", async () => {
    const [outbox, other] = fixture.outboxes;
    const sender = recordingSender();
    await outbox.enqueue([reply(ANA, 1, 0), reply(ANA, 1, 1)]);
    await worker(sender).drain();
    await other.enqueue([reply(ANA, 1, 0), reply(ANA, 1, 1)]);
    expect(await other.depth()).to.equal(0);
    await worker(sender).drain();
    expect(sender.sent).to.deep.equal([`${ANA}/1.0`, `${ANA}/1.1`]);
  });

  it("should send one recipient's replies in (sequence, index) order when enqueued out of order", async () => {
    const [outbox] = fixture.outboxes;
    const sequences = [3, 1, 2, 7, 5, 4, 10, 6, 9, 8];
    for (const sequence of sequences)
      await outbox.enqueue([reply(ANA, sequence, 1), reply(ANA, sequence, 0)]);
    const sender = recordingSender();
    await worker(sender).drain();
    const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].flatMap((s) => [`${ANA}/${s}.0`, `${ANA}/${s}.1`]);
    expect(sender.sent).to.deep.equal(expected);
  });

  it("should retry a failing send until it succeeds, holding back only that recipient's later replies", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1), reply(ANA, 2), reply(BEN, 1), reply(BEN, 2)]);
    const sender = recordingSender((item, attempt) =>
      item.recipient === ANA && item.sequence === 1 && attempt <= 3
        ? { kind: "retry", reason: "HTTP_500" }
        : { kind: "sent" },
    );
    const failures: number[] = [];
    const outboxWorker = worker(sender, {
      random: () => 0.5,
      onFailed: (event) => failures.push(event.attempt),
    });
    await outboxWorker.drain();
    expect(sender.attempts).to.have.members([`${ANA}/1.0`, `${BEN}/1.0`, `${BEN}/2.0`]);
    expect(sender.sent).to.deep.equal([`${BEN}/1.0`, `${BEN}/2.0`]);
    for (let round = 0; round < 3; round++) {
      fixture.clock.advance(60_000);
      await outboxWorker.drain();
    }
    expect(sender.attempts.filter((name) => name.startsWith(ANA))).to.deep.equal([
      ...Array(4).fill(`${ANA}/1.0`),
      `${ANA}/2.0`,
    ]);
    expect(sender.sent).to.deep.equal([`${BEN}/1.0`, `${BEN}/2.0`, `${ANA}/1.0`, `${ANA}/2.0`]);
    expect(failures).to.deep.equal([1, 2, 3]);
    expect(await outbox.depth()).to.equal(0);
  });

  it("should wait for Retry-After before the next attempt", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1)]);
    const sender = recordingSender((_item, attempt) =>
      attempt === 1 ? { kind: "retry", reason: "HTTP_429", afterMs: 5_000 } : { kind: "sent" },
    );
    const outboxWorker = worker(sender);
    await outboxWorker.drain();
    fixture.clock.advance(4_999);
    await outboxWorker.drain();
    expect(sender.attempts).to.have.length(1);
    fixture.clock.advance(1);
    await outboxWorker.drain();
    expect(sender.sent).to.deep.equal([`${ANA}/1.0`]);
  });

  it("should dead-letter a reply after the last attempt with its reason, then send the later ones", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1), reply(ANA, 2)]);
    const sender = recordingSender((item) =>
      item.sequence === 1 ? { kind: "retry", reason: "HTTP_503" } : { kind: "sent" },
    );
    const dead: string[] = [];
    await worker(sender, { maxAttempts: 3, onDeadLetter: (event) => dead.push(event.reason ?? "") }).drain();
    expect(sender.attempts).to.deep.equal([`${ANA}/1.0`, `${ANA}/1.0`, `${ANA}/1.0`, `${ANA}/2.0`]);
    expect(sender.sent).to.deep.equal([`${ANA}/2.0`]);
    expect(dead).to.deep.equal(["HTTP_503"]);
    const [letter, ...others] = await outbox.deadLetters(10);
    expect(others).to.be.empty;
    expect(letter).to.include({ reason: "HTTP_503", attempts: 3 });
    expect(letter.reply).to.deep.equal(reply(ANA, 1));
    expect(await outbox.depth()).to.equal(0);
  });

  it("should dead-letter a fatal failure at once", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1), reply(ANA, 2)]);
    const sender = recordingSender((item) =>
      item.sequence === 1 ? { kind: "fatal", reason: "HTTP_400" } : { kind: "sent" },
    );
    await worker(sender).drain();
    expect(sender.attempts).to.deep.equal([`${ANA}/1.0`, `${ANA}/2.0`]);
    expect((await outbox.deadLetters(10)).map((letter) => [letter.reason, letter.attempts])).to.deep.equal([
      ["HTTP_400", 1],
    ]);
  });

  it("should retry a sender that throws", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1)]);
    const sender = recordingSender((_item, attempt) => {
      if (attempt === 1) throw new TypeError("fetch failed");
      return { kind: "sent" };
    });
    await worker(sender).drain();
    expect(sender.attempts).to.have.length(2);
    expect(sender.sent).to.deep.equal([`${ANA}/1.0`]);
  });

  it("should never send two replies of one recipient at once nor one reply twice, with two workers", async () => {
    const recipients = [ANA, BEN, "+447700900003", "+447700900004"];
    for (let sequence = 1; sequence <= 8; sequence++) {
      await fixture.outboxes[sequence % 2].enqueue(recipients.map((recipient) => reply(recipient, sequence)));
    }
    const active = new Map<string, number>();
    let mostActive = 0;
    const sender = recordingSender(async (item) => {
      active.set(item.recipient, (active.get(item.recipient) ?? 0) + 1);
      mostActive = Math.max(mostActive, ...active.values());
      await sleep(1);
      active.set(item.recipient, (active.get(item.recipient) ?? 0) - 1);
      return { kind: "sent" };
    });
    const workers = [worker(sender, { concurrency: 3 }, 0), worker(sender, { concurrency: 3 }, 1)];
    while ((await fixture.outboxes[0].depth()) > 0) await Promise.all(workers.map((each) => each.drain()));
    expect(mostActive).to.equal(1);
    expect(sender.sent).to.have.length(32);
    expect(new Set(sender.sent).size).to.equal(32);
    for (const recipient of recipients) {
      const order = sender.sent.filter((name) => name.startsWith(recipient));
      expect(order).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8].map((s) => `${recipient}/${s}.0`));
    }
  });

  it("should deliver a reply claimed by a dead worker after its lease", async () => {
    const [dying, survivor] = fixture.outboxes;
    await dying.enqueue([reply(ANA, 1), reply(ANA, 2)]);
    const [claimed] = await dying.claim(1, 1_000);
    expect(claimed.reply).to.deep.equal(reply(ANA, 1));
    const sender = recordingSender();
    const outboxWorker = worker(sender, {}, 1);
    await outboxWorker.drain();
    expect(sender.attempts).to.be.empty;
    fixture.clock.advance(1_000);
    await outboxWorker.drain();
    expect(sender.sent).to.deep.equal([`${ANA}/1.0`, `${ANA}/2.0`]);
    expect(await survivor.ack(claimed)).to.equal(false);
    expect(await survivor.depth()).to.equal(0);
  });

  it("should let stop() wait for the send in flight", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1)]);
    const held = gate();
    const sender = recordingSender(async () => {
      await held.opened;
      return { kind: "sent" };
    });
    const outboxWorker = worker(sender, { pollIntervalMs: 5 });
    outboxWorker.start();
    await until(() => sender.attempts.length === 1);
    let stopped = false;
    const stopping = outboxWorker.stop().then(() => {
      stopped = true;
    });
    await sleep(20);
    expect(stopped).to.equal(false);
    held.open();
    await stopping;
    expect(sender.sent).to.deep.equal([`${ANA}/1.0`]);
    expect(await outbox.depth()).to.equal(0);
  });

  it("should log channel, message id, attempts and reason, never a reply's text or recipient", async () => {
    const [outbox] = fixture.outboxes;
    await outbox.enqueue([reply(ANA, 1), reply(ANA, 2), reply(BEN, 1), reply("+447700900003", 1)]);
    const sender = recordingSender((item, attempt) => {
      if (item.recipient === BEN) throw new Error(`cannot reach ${item.recipient}: ${item.text}`);
      if (item.recipient === ANA && attempt === 1) return { kind: "fatal", reason: "HTTP_400" };
      return { kind: "retry", reason: "HTTP_503" };
    });
    const { logger, lines } = capturingLogger();
    await worker(sender, { logger, maxAttempts: 2 }).drain();
    const log = lines.join("");
    expect(log).to.include("wamid.1").and.include("HTTP_400").and.include("HTTP_503");
    expect(log).to.include("SENDER_THREW_Error").and.include('"attempts":2');
    for (const secret of [ANA, BEN, "+447700900003", "7700900", "secret text"]) {
      expect(log).to.not.include(secret);
    }
  });
}

describe("Redis outbox", () => {
  outboxBehaviour(async () => {
    const test = await createTestRedis();
    const second = createRedis(await redisUrl());
    await waitForRedis(second);
    const clock = createManualClock();
    const outboxes = [
      createRedisOutbox({ redis: test.redis, prefix: test.prefix, clock }),
      createRedisOutbox({ redis: second, prefix: test.prefix, clock }),
    ] as const;
    return { outboxes, clock, cleanup: () => second.quit().then(() => test.cleanup()) };
  });
});

describe("memory outbox", () => {
  outboxBehaviour(async () => {
    const clock = createManualClock();
    const outbox = createMemoryOutbox({ clock });
    return { outboxes: [outbox, outbox], clock, cleanup: async () => {} };
  });

  it("should refuse a seen TTL shorter than 24 hours", () => {
    expect(() => createMemoryOutbox({ clock: createManualClock(), seenTtlMs: 60_000 })).to.throw(RangeError);
  });
});
