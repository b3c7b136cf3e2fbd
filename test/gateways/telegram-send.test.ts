import { expect } from "chai";
import type { OutboundReply } from "../../gateways/outbox/outbox.js";
import { createBotApi } from "../../gateways/telegram/bot-api.js";
import { type CallbackData, createCallbackData } from "../../gateways/telegram/callback-data.js";
import { createTelegramSender, TELEGRAM_LIMITS } from "../../gateways/telegram/send.js";
import { createManualClock } from "../../lib/clock.js";
import { type FakeTelegram, startFakeTelegram } from "../support/fake-telegram.js";
import { createTestRedis, freePort, type TestRedis } from "../support/redis.js";

const TOKEN = "7000000001:AAtest-telegram-bot-token_0123456789";
const CHAT = "987654321";

function reply(overrides: Partial<OutboundReply> = {}): OutboundReply {
  return {
    channel: "telegram",
    recipient: CHAT,
    messageId: "tg:7000000001:1",
    sequence: 1,
    index: 0,
    text: "Hello",
    choices: [],
    ...overrides,
  };
}

describe("Telegram sender → Bot API sendMessage", () => {
  let fake: FakeTelegram;
  let callbackData: CallbackData;
  const sender = (options: { apiBaseUrl?: string; timeoutMs?: number; codec?: CallbackData } = {}) =>
    createTelegramSender({
      api: createBotApi({
        apiBaseUrl: options.apiBaseUrl ?? fake.baseUrl,
        botToken: TOKEN,
        timeoutMs: options.timeoutMs ?? 5_000,
        userAgent: "Teller/0.1.0 (test)",
      }),
      callbackData: options.codec ?? callbackData,
    });
  beforeEach(async () => {
    fake = await startFakeTelegram({ token: TOKEN });
    callbackData = createCallbackData({ prefix: "test" });
  });
  afterEach(() => fake.close());

  it("should send plain text to the chat, never with a parse_mode, with Teller's User-Agent", async () => {
    const text = "<b>Not bold</b> *not italic* [no](link)";
    expect(await sender().send(reply({ text }))).to.deep.equal({ kind: "sent" });
    const [sent] = fake.sent;
    expect(sent?.chatId).to.equal(987654321);
    expect(sent?.text).to.equal(text);
    expect(sent?.body).not.to.have.property("parse_mode");
    expect(sent?.body).not.to.have.property("reply_markup");
    expect(sent?.userAgent).to.equal("Teller/0.1.0 (test)");
  });

  it("should offer quick replies as an inline keyboard, one button per row, payloads as callback_data", async () => {
    const choices = [
      { title: "Balance", payload: "BALANCE" },
      { title: "Recent payments", payload: "TRANSACTIONS" },
      { title: "  ", payload: "PAYEES" },
    ];
    expect(await sender().send(reply({ choices }))).to.deep.equal({ kind: "sent" });
    expect(fake.sent[0]?.choices).to.deep.equal([
      { id: "BALANCE", title: "Balance" },
      { id: "TRANSACTIONS", title: "Recent payments" },
      { id: "PAYEES", title: "Option 3" },
    ]);
    expect(fake.sent[0]?.rows).to.equal(3);
  });

  it("should cut a text longer than 4096 at a line break and end it with an ellipsis", async () => {
    const text = `${"Line of a long statement.\n".repeat(200)}`;
    expect(text.length).to.be.greaterThan(TELEGRAM_LIMITS.text);
    expect(await sender().send(reply({ text }))).to.deep.equal({ kind: "sent" });
    const sent = fake.sent[0]?.text ?? "";
    expect(sent.length).to.be.at.most(4096);
    expect(sent).to.match(/statement\.…$/);
    expect(text.startsWith(sent.slice(0, -1))).to.equal(true);
  });

  it("should honour retry_after of a 429 as the retry delay, and retry 5xx", async () => {
    fake.failNext(429, 1, 7);
    fake.failNext(502, 1);
    expect(await sender().send(reply())).to.deep.equal({
      kind: "retry",
      reason: "telegram 429",
      afterMs: 7_000,
    });
    expect(await sender().send(reply())).to.deep.equal({ kind: "retry", reason: "telegram 502" });
    expect(await sender().send(reply())).to.deep.equal({ kind: "sent" });
  });

  it("should give up at once on 400, 403 (bot blocked) and a wrong token", async () => {
    fake.failNext(400, 1);
    fake.failNext(403, 1);
    expect(await sender().send(reply())).to.deep.equal({ kind: "fatal", reason: "telegram 400" });
    expect(await sender().send(reply())).to.deep.equal({ kind: "fatal", reason: "telegram 403" });
    const wrongToken = createTelegramSender({
      api: createBotApi({
        apiBaseUrl: fake.baseUrl,
        botToken: "1:AAwrong-token-000000000000000",
        userAgent: "t",
      }),
      callbackData,
    });
    expect(await wrongToken.send(reply())).to.deep.equal({ kind: "fatal", reason: "telegram 401" });
    expect(fake.sent).to.have.length(0);
  });

  it("should retry a timeout and a refused connection, naming neither the URL nor the token", async () => {
    fake.hangNext();
    const timedOut = await sender({ timeoutMs: 200 }).send(reply());
    expect(timedOut).to.deep.equal({ kind: "retry", reason: "timeout" });
    const refused = await sender({ apiBaseUrl: `http://127.0.0.1:${await freePort()}` }).send(reply());
    expect(refused).to.deep.equal({ kind: "retry", reason: "network ECONNREFUSED" });
  });

  it("should refuse, without a request, a recipient that is not a private chat and an empty text", async () => {
    for (const recipient of ["-1001234567890", "+447700900123", "@channel", "99999999999999999"]) {
      expect(await sender().send(reply({ recipient })), recipient).to.deep.equal({
        kind: "fatal",
        reason: "recipient not a private chat id",
      });
    }
    expect(await sender().send(reply({ text: " \n" }))).to.deep.equal({
      kind: "fatal",
      reason: "empty reply",
    });
    expect(fake.sendAttempts()).to.equal(0);
  });

  it("should retry when long payloads cannot be stored", async () => {
    const broken: CallbackData = {
      encode: () => Promise.reject(new Error("redis down")),
      decode: () => Promise.resolve(undefined),
    };
    const choices = [{ title: "Pay", payload: "P".repeat(80) }];
    expect(await sender({ codec: broken }).send(reply({ choices }))).to.deep.equal({
      kind: "retry",
      reason: "callback data store unavailable",
    });
  });
});

describe("Telegram callback_data (64 bytes at most)", () => {
  let redis: TestRedis;
  before(async () => {
    redis = await createTestRedis();
  });
  after(() => redis.cleanup());

  for (const store of ["memory", "redis"] as const) {
    const codec = () =>
      createCallbackData({ prefix: redis.prefix, redis: store === "redis" ? redis.redis : undefined });

    it(`should map a payload over 64 bytes to a short id and back (${store})`, async () => {
      const payload = `PAYEE:${"é".repeat(30)}`; // 36 characters, 66 bytes
      const first = codec();
      const data = await first.encode(payload);
      expect(data).not.to.equal(payload);
      expect(Buffer.byteLength(data, "utf8")).to.be.at.most(64);
      expect(await first.encode(payload), "the same for a retried send").to.equal(data);
      expect(await first.decode(data)).to.equal(payload);
      // Redis keeps it for the other gateway processes (and restarts); memory is this process's.
      expect(await codec().decode(data)).to.equal(store === "redis" ? payload : undefined);
    });
  }

  it("should pass payloads that fit as themselves, counting bytes, not characters", async () => {
    const codec = createCallbackData({ prefix: "test" });
    for (const payload of ["BALANCE", "PAYEE:ben_0123456789abcdefghij", "x".repeat(64), "é".repeat(32)]) {
      expect(await codec.encode(payload)).to.equal(payload);
      expect(await codec.decode(payload)).to.equal(payload);
    }
    const long = "é".repeat(33);
    const data = await codec.encode(long);
    expect(data).to.match(/^~[A-Za-z0-9_-]{43}$/);
    expect(await codec.decode(data)).to.equal(long);
  });

  it("should map a payload that looks like a mapped one, and forget mappings after their time", async () => {
    const clock = createManualClock();
    const codec = createCallbackData({ prefix: "test", clock, ttlMs: 60_000 });
    const data = await codec.encode("~BALANCE");
    expect(data).not.to.equal("~BALANCE");
    expect(await codec.decode(data)).to.equal("~BALANCE");
    expect(await codec.decode("~BALANCE")).to.equal(undefined);
    clock.advance(60_001);
    expect(await codec.decode(data)).to.equal(undefined);
  });

  it("should send a mapped payload that the fake Bot API accepts and the tap maps back", async () => {
    const fake = await startFakeTelegram({ token: TOKEN });
    try {
      const codec = createCallbackData({ prefix: redis.prefix, redis: redis.redis });
      const api = createBotApi({ apiBaseUrl: fake.baseUrl, botToken: TOKEN, userAgent: "t" });
      const payload = `CONFIRM:${"z".repeat(100)}`;
      const out = reply({
        choices: [
          { title: "Confirm", payload },
          { title: "Cancel", payload: "CANCEL" },
        ],
      });
      expect(await createTelegramSender({ api, callbackData: codec }).send(out)).to.deep.equal({
        kind: "sent",
      });
      const [first, second] = fake.sent[0]?.choices ?? [];
      expect(second?.id).to.equal("CANCEL");
      expect(await codec.decode(first?.id ?? "")).to.equal(payload);
    } finally {
      await fake.close();
    }
  });
});
