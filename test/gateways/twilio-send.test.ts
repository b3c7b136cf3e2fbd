import { expect } from "chai";
import type { OutboundChoice, OutboundReply } from "../../gateways/outbox/outbox.js";
import {
  createMemoryMenuStore,
  createRedisMenuStore,
  MENU_TTL_MS,
  type MenuStore,
} from "../../gateways/twilio/menus.js";
import {
  createTwilioSender,
  renderTwilioBody,
  type TwilioSenderOptions,
} from "../../gateways/twilio/send.js";
import { createManualClock } from "../../lib/clock.js";
import { type FakeTwilio, startFakeTwilio } from "../support/fake-twilio.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";

const SID = `AC${"5e".repeat(16)}`;
const TOKEN = "twilio-auth-token-0123456789abcdef";
const SMS_FROM = "+15005550006";
const WHATSAPP_FROM = "+14155238886";
const CUSTOMER = "+447700900123";

function reply(text: string, choices: readonly OutboundChoice[] = [], recipient = CUSTOMER): OutboundReply {
  return { channel: "twilio", recipient, messageId: "twilio:SM1", sequence: 1, index: 0, text, choices };
}

const CONFIRM_OR_CANCEL = [
  { title: "Confirm", payload: "CONFIRM" },
  { title: "Cancel", payload: "CANCEL" },
];

describe("Twilio sender", () => {
  let twilio: FakeTwilio;
  let menus: MenuStore;
  const sender = (overrides: Partial<TwilioSenderOptions> = {}) =>
    createTwilioSender({
      apiBaseUrl: twilio.baseUrl,
      accountSid: SID,
      authToken: TOKEN,
      smsFrom: SMS_FROM,
      whatsappFrom: WHATSAPP_FROM,
      menus,
      userAgent: "Teller/0.1.0",
      ...overrides,
    });

  beforeEach(async () => {
    twilio = await startFakeTwilio(SID, TOKEN);
    menus = createMemoryMenuStore({ clock: createManualClock() });
  });
  afterEach(() => twilio.close());

  it("should post To, From and Body with basic auth and a User-Agent naming Teller", async () => {
    expect(await sender().send(reply("Your balance is 42.00 EUR."))).to.deep.equal({ kind: "sent" });
    expect(twilio.messages).to.deep.equal([
      { to: CUSTOMER, from: SMS_FROM, body: "Your balance is 42.00 EUR." },
    ]);
    const [delivery] = twilio.deliveries;
    expect(delivery?.authorization).to.equal(`Basic ${Buffer.from(`${SID}:${TOKEN}`).toString("base64")}`);
    expect(delivery?.userAgent).to.equal("Teller/0.1.0");
  });

  it("should answer WhatsApp through Twilio from the whatsapp: sender", async () => {
    expect(await sender().send(reply("hi", [], `whatsapp:${CUSTOMER}`))).to.deep.equal({ kind: "sent" });
    expect(twilio.messages).to.deep.equal([
      { to: `whatsapp:${CUSTOMER}`, from: `whatsapp:${WHATSAPP_FROM}`, body: "hi" },
    ]);
  });

  it("should write quick replies as numbered options and remember their payloads for the recipient", async () => {
    await sender().send(reply("Send 10.00 EUR to Bob ••1234?", CONFIRM_OR_CANCEL));
    expect(twilio.messages[0]?.body).to.equal(
      "Send 10.00 EUR to Bob ••1234?\n\nReply 1 for Confirm, 2 for Cancel.",
    );
    expect(await menus.recall(CUSTOMER)).to.deep.equal(["CONFIRM", "CANCEL"]);
    expect(await menus.recall(`whatsapp:${CUSTOMER}`)).to.equal(undefined);
    // A later reply without choices leaves the menu; a later menu replaces it.
    await sender().send(reply("Working on it."));
    expect(await menus.recall(CUSTOMER)).to.deep.equal(["CONFIRM", "CANCEL"]);
    await sender().send(reply("Anything else?", [{ title: "Balance", payload: "BALANCE" }]));
    expect(await menus.recall(CUSTOMER)).to.deep.equal(["BALANCE"]);
  });

  it("should cap a long reply at 1600 characters on a line break, keeping every option", async () => {
    const lines = Array.from(
      { length: 80 },
      (_, i) => `2026-01-${String(i % 28).padStart(2, "0")} Coffee shop -3.50 EUR`,
    );
    const payees = Array.from({ length: 12 }, (_, i) => ({
      title: `Payee number ${i + 1}, savings`,
      payload: `PAYEE:${i}`,
    }));
    expect(await sender().send(reply(lines.join("\n"), payees))).to.deep.equal({ kind: "sent" });
    const body = twilio.messages[0]?.body ?? "";
    expect(body.length).to.be.at.most(1600);
    expect(body).to.match(/EUR…\n\nReply with a number:\n1\. Payee number 1, savings\n/);
    expect(body.endsWith("\n10. Payee number 10, savings")).to.equal(true);
    expect(await menus.recall(CUSTOMER)).to.have.length(10);
  });

  it("should retry on 429 and 5xx, honouring Retry-After, and give up on other 4xx", async () => {
    twilio.failNext(429, 1, { retryAfter: 3 });
    twilio.failNext(503);
    twilio.failNext(400, 1, { code: 21211 });
    twilio.failNext(401, 1, { code: 20003 });
    const s = sender();
    expect(await s.send(reply("a"))).to.deep.equal({
      kind: "retry",
      reason: "twilio 429 20429",
      afterMs: 3000,
    });
    expect(await s.send(reply("a"))).to.deep.equal({ kind: "retry", reason: "twilio 503 20500" });
    expect(await s.send(reply("a"))).to.deep.equal({ kind: "fatal", reason: "twilio 400 21211" });
    expect(await s.send(reply("a"))).to.deep.equal({ kind: "fatal", reason: "twilio 401 20003" });
    expect(await s.send(reply("a"))).to.deep.equal({ kind: "sent" });
  });

  it("should give up at once on a recipient who replied STOP (21610)", async () => {
    twilio.optOut(CUSTOMER);
    expect(await sender().send(reply("Your balance is 42.00 EUR."))).to.deep.equal({
      kind: "fatal",
      reason: "twilio 400 21610",
    });
    expect(twilio.messages).to.have.length(0);
  });

  it("should retry on timeouts and network errors, and refuse what can never be sent", async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    expect(await sender({ fetch: hanging, timeoutMs: 50 }).send(reply("a"))).to.deep.equal({
      kind: "retry",
      reason: "timeout",
    });
    const down = sender({ apiBaseUrl: "http://127.0.0.1:1" });
    expect(await down.send(reply("a"))).to.deep.include({ kind: "retry" });
    expect(await sender().send(reply("a", [], "12345"))).to.deep.equal({
      kind: "fatal",
      reason: "recipient not a phone address",
    });
    expect(await sender().send(reply("  "))).to.deep.equal({ kind: "fatal", reason: "empty reply" });
    expect(await sender({ whatsappFrom: "" }).send(reply("hi", [], `whatsapp:${CUSTOMER}`))).to.deep.equal({
      kind: "fatal",
      reason: "no WhatsApp sender",
    });
  });

  it("should retry, without sending, while the menu store is unavailable", async () => {
    const broken: MenuStore = {
      remember: () => Promise.reject(new Error("redis down")),
      recall: () => Promise.resolve(undefined),
    };
    expect(await sender({ menus: broken }).send(reply("Sure?", CONFIRM_OR_CANCEL))).to.deep.equal({
      kind: "retry",
      reason: "menu store unavailable",
    });
    expect(twilio.requestCount()).to.equal(0);
  });

  it("should refuse settings that cannot work at startup", () => {
    expect(() => sender({ apiBaseUrl: "ftp://x", accountSid: "x", authToken: "", smsFrom: "" })).to.throw(
      /apiBaseUrl.*accountSid.*authToken.*smsFrom/,
    );
  });
});

describe("renderTwilioBody", () => {
  it("should list more than three options, or titles with commas, one per line", () => {
    const three = renderTwilioBody("Pick one", [
      { title: "Balance", payload: "BALANCE" },
      { title: "Recent payments", payload: "TRANSACTIONS" },
      { title: "Payees", payload: "PAYEES" },
    ]);
    expect(three.body).to.equal("Pick one\n\nReply 1 for Balance, 2 for Recent payments, 3 for Payees.");
    const commas = renderTwilioBody("Who?", [{ title: "Smith, Ann", payload: "PAYEE:1" }]);
    expect(commas.body).to.equal("Who?\n\nReply with a number:\n1. Smith, Ann");
  });

  it("should shorten long titles, name empty ones, and skip options without a payload", () => {
    const { body, payloads } = renderTwilioBody("Which?", [
      { title: "A very long payee name that goes on and on and on", payload: "PAYEE:1" },
      { title: "   ", payload: "PAYEE:2" },
      { title: "Nothing", payload: "" },
    ]);
    expect(body).to.equal("Which?\n\nReply 1 for A very long payee name that goes on and…, 2 for Option 2.");
    expect(payloads).to.deep.equal(["PAYEE:1", "PAYEE:2"]);
  });
});

describe("menu stores", () => {
  let test: TestRedis;
  beforeEach(async () => {
    test = await createTestRedis();
  });
  afterEach(() => test.cleanup());

  it("should share a menu between gateway processes through Redis, under a key without the phone", async () => {
    const one = createRedisMenuStore({ redis: test.redis, prefix: test.prefix });
    const other = createRedisMenuStore({ redis: test.redis, prefix: test.prefix });
    await one.remember(CUSTOMER, ["CONFIRM", "CANCEL"]);
    expect(await other.recall(CUSTOMER)).to.deep.equal(["CONFIRM", "CANCEL"]);
    expect(await other.recall(`whatsapp:${CUSTOMER}`)).to.equal(undefined);
    const keys = await test.redis.keys(`${test.prefix}:*`);
    expect(keys).to.have.length(1);
    expect(keys[0]).to.match(new RegExp(`^${test.prefix}:twilio:menu:[A-Za-z0-9_-]{43}$`));
    const ttl = await test.redis.pttl(keys[0] as string);
    expect(ttl).to.be.greaterThan(0).and.at.most(MENU_TTL_MS);
  });

  it("should forget a menu in memory once its TTL has passed", async () => {
    const clock = createManualClock();
    const store = createMemoryMenuStore({ clock });
    await store.remember(CUSTOMER, ["CONFIRM"]);
    clock.advance(MENU_TTL_MS - 1);
    expect(await store.recall(CUSTOMER)).to.deep.equal(["CONFIRM"]);
    clock.advance(1);
    expect(await store.recall(CUSTOMER)).to.equal(undefined);
  });
});
