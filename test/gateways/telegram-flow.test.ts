import { expect } from "chai";
import request from "supertest";
import { ACTIONS } from "../../core/domain/dialog/intent.js";
import { NOT_A_CUSTOMER } from "../../core/domain/dialog/replies.js";
import type { Gateways } from "../../gateways/main.js";
import { createBotApi } from "../../gateways/telegram/bot-api.js";
import { answerCallbackQuery } from "../../gateways/telegram/channel.js";
import { BUTTON_EXPIRED, TEXT_ONLY } from "../../gateways/telegram/routes.js";
import {
  telegramMessageUpdate,
  telegramTextUpdate,
  telegramWebhookRequest,
} from "../../gateways/telegram/simulate.js";
import { createLogger } from "../../lib/logger.js";
import type { InboundRequest } from "../support/channels/harness.js";
import {
  createTelegramHarness,
  TELEGRAM_BOT_TOKEN,
  TELEGRAM_WEBHOOK_SECRET,
  type TelegramHarness,
} from "../support/channels/telegram.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { freePort } from "../support/redis.js";
import { seedCustomer } from "../support/seed.js";

const ALICE = "+447700900641";
const BOB = "+447700900652";

describe("Telegram webhook → core → outbox → Bot API", () => {
  let rig: GatewayRig;
  let tg: TelegramHarness;
  let gw: Gateways;
  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "200/1m" });
    tg = createTelegramHarness();
    await tg.start({ publicBaseUrl: "https://teller.example.test" });
    gw = rig.gateways({ env: tg.env() });
  });
  afterEach(async () => {
    await rig.close();
    await tg.close();
  });

  const deliver = async (inbound: InboundRequest) => {
    let call = request(gw.app.callback()).post(inbound.path);
    for (const [name, value] of Object.entries(inbound.headers)) call = call.set(name, value);
    return call.send(inbound.body ?? "");
  };
  /** Delivers, expects the 200, and returns the next reply the Bot API accepted. */
  const turn = async (inbound: InboundRequest) => {
    const before = tg.replies.length;
    expect((await deliver(inbound)).status).to.equal(200);
    return (await tg.waitForReplies(before + 1))[before];
  };
  const lastCode = async () => {
    const [sms] = (await rig.t.core.devOutbox?.read(ALICE)) ?? [];
    return /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1] ?? "no code";
  };

  it("should link a chat with a code sent by SMS, then answer its balance in that chat", async () => {
    const alice = await seedCustomer(rig.t, ALICE, 42_00n, "Alice");
    const chat = tg.newUser();
    expect((await turn(tg.text(chat, "/balance")))?.text).to.equal(NOT_A_CUSTOMER);
    await turn(tg.text(chat, "link my account"));
    const asked = await turn(tg.text(chat, alice.customerId));
    expect(asked?.text).to.include("If that customer number is right");
    const code = await lastCode();
    // The code goes to the registered phone, never into the chat it protects.
    expect(tg.replies.map((r) => r.text).join("\n")).not.to.include(code);
    expect((await turn(tg.text(chat, code)))?.text).to.include("linked to your bank profile, Alice");
    const balance = await turn(tg.text(chat, "what is my balance?"));
    expect(balance).to.deep.equal({
      to: chat,
      text: "Your balance is 42.00 EUR.",
      choices: [
        { id: "BALANCE", title: "Balance" },
        { id: "TRANSACTIONS", title: "Recent payments" },
        { id: "PAYEES", title: "Payees" },
      ],
    });
    const sent = tg.fake.sent.at(-1);
    expect(sent?.body).not.to.have.property("parse_mode");
    expect(sent?.rows).to.equal(3);
    expect(sent?.userAgent).to.match(/^Teller\/\d+\.\d+\.\d+/);
  });

  it("should take button taps as payloads, stop each spinner, and send money after a code", async () => {
    const alice = await seedCustomer(rig.t, ALICE, 100_00n, "Alice");
    const bob = await seedCustomer(rig.t, BOB, 0n, "Bob");
    const chat = tg.newUser();
    await turn(tg.text(chat, "link my account"));
    await turn(tg.text(chat, alice.customerId));
    await turn(tg.text(chat, await lastCode()));
    const confirmPayee = await turn(tg.text(chat, `add payee Bob ${bob.accountId}`));
    expect(confirmPayee?.choices.map((c) => c.id)).to.deep.equal([ACTIONS.confirm, ACTIONS.cancel]);
    await turn(tg.tap(chat, ACTIONS.confirm, "Confirm"));
    expect((await turn(tg.text(chat, await lastCode())))?.text).to.include("Saved Bob as a payee");
    const confirmTransfer = await turn(tg.text(chat, "send 25 EUR to Bob"));
    expect(confirmTransfer?.text).to.include("send 25.00 EUR to Bob");
    const tap = tg.tap(chat, ACTIONS.confirm, "Confirm");
    await turn(tap);
    const done = await turn(tg.text(chat, await lastCode()));
    expect(done?.text).to.equal("Done: you sent 25.00 EUR to Bob. Your balance is now 75.00 EUR.");
    expect((await rig.t.core.ledger.getAccount(bob.accountId))?.balance).to.equal(25_00n);
    const callbackId = (JSON.parse(tap.body ?? "{}") as { callback_query: { id: string } }).callback_query.id;
    expect(tg.fake.callbackAnswers).to.have.length(2);
    expect(tg.fake.callbackAnswers[1]).to.equal(callbackId);
  });

  it("should answer an update Telegram redelivers only once", async () => {
    const chat = tg.newUser();
    const hello = tg.text(chat, "hi");
    expect((await deliver(hello)).status).to.equal(200);
    expect((await deliver(hello)).status).to.equal(200);
    // The greeting first: `turn` counts replies from when it is called.
    await tg.waitForReplies(1);
    await turn(tg.text(chat, "cancel"));
    expect(tg.replies.map((r) => r.text)).to.deep.equal([
      "Hello! How can I help you today?",
      "There is nothing to cancel.",
    ]);
  });

  it("should wait the retry_after of a 429 before sending again, and deliver", async () => {
    tg.failNext(429, 1);
    const reply = await turn(tg.text(tg.newUser(), "hi"));
    expect(reply?.text).to.equal("Hello! How can I help you today?");
    expect(tg.fake.sendAttempts()).to.equal(2);
    const retried = rig.logs.filter((l) => l.includes("outbox send will be retried"));
    expect(retried).to.have.length(1);
    expect(JSON.parse(retried[0] as string)).to.include({ reason: "telegram 429", delayMs: 1000 });
  });

  it("should ignore group chats: no core turn, no reply, but a stopped spinner", async () => {
    const group = { chatId: "-1001234567890", chatType: "supergroup", updateId: tg.updateIdOf("group-1") };
    const inGroup = telegramWebhookRequest(telegramTextUpdate(group, "balance"), TELEGRAM_WEBHOOK_SECRET);
    expect((await deliver(inGroup)).status).to.equal(200);
    const tapInGroup = tg.tap("-1001234567890", ACTIONS.balance, "Balance");
    const body = JSON.parse(tapInGroup.body ?? "{}");
    body.callback_query.message.chat = { id: -1001234567890, title: "Family", type: "group" };
    const groupTap = { ...tapInGroup, body: JSON.stringify(body) };
    expect((await deliver(groupTap)).status).to.equal(200);
    expect(tg.fake.callbackAnswers).to.deep.equal([body.callback_query.id]);
    const chat = tg.newUser();
    expect((await turn(tg.text(chat, "hi")))?.to).to.equal(chat);
    expect(tg.replies).to.have.length(1);
    expect(rig.t.logs.filter((l) => l.includes("HandleMessage"))).to.have.length(1);
  });

  it("should tell a sender of a sticker that it reads text only, and acknowledge other updates silently", async () => {
    const chat = tg.newUser();
    const sticker = telegramMessageUpdate(
      { chatId: chat, updateId: tg.updateIdOf("s-1") },
      { sticker: { file_id: "x" } },
    );
    expect((await turn(telegramWebhookRequest(sticker, TELEGRAM_WEBHOOK_SECRET)))?.text).to.equal(TEXT_ONLY);
    const edited = {
      update_id: tg.updateIdOf("e-1"),
      edited_message: { message_id: 1, chat: { id: 1, type: "private" } },
    };
    expect((await deliver(telegramWebhookRequest(edited, TELEGRAM_WEBHOOK_SECRET))).status).to.equal(200);
    expect((await deliver(tg.malformed())).status).to.equal(200);
    await turn(tg.text(chat, "cancel"));
    expect(tg.replies.map((r) => r.text)).to.deep.equal([TEXT_ONLY, "There is nothing to cancel."]);
  });

  it("should tell the customer when a button's stored payload has expired", async () => {
    const chat = tg.newUser();
    expect((await turn(tg.tap(chat, `~${"A".repeat(43)}`, "Pay")))?.text).to.equal(BUTTON_EXPIRED);
  });

  it("should refuse a missing or wrong secret token with 401, count it, and answer nothing", async () => {
    const chat = tg.newUser();
    const hello = tg.text(chat, "hi");
    expect((await deliver(tg.unsigned(hello))).status).to.equal(401);
    expect((await deliver(tg.forged(hello))).status).to.equal(401);
    const other = {
      ...hello,
      headers: { ...hello.headers, "x-telegram-bot-api-secret-token": TELEGRAM_BOT_TOKEN },
    };
    expect((await deliver(other)).status).to.equal(401);
    expect((await request(gw.app.callback()).get("/webhooks/telegram")).status).to.equal(405);
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).to.match(/teller_webhook_signature_failures_total\{channel="telegram"[^}]*\} 3/);
    expect(tg.fake.sendAttempts()).to.equal(0);
    expect(rig.t.logs.filter((l) => l.includes("HandleMessage"))).to.have.length(0);
  });

  it("should answer 503 and store nothing while the core is unreachable, then answer the redelivery", async () => {
    const down = rig.gateways({
      env: { ...tg.env(), CORE_URL: `127.0.0.1:${await freePort()}`, HTTP_TIMEOUT: "1s" },
    });
    const hello = tg.text(tg.newUser(), "hi");
    let call = request(down.app.callback()).post(hello.path);
    for (const [name, value] of Object.entries(hello.headers)) call = call.set(name, value);
    expect((await call.send(hello.body ?? "")).status).to.equal(503);
    expect(await down.outbox.depth()).to.equal(0);
    expect((await turn(hello))?.text).to.equal("Hello! How can I help you today?");
  });

  it("should log neither the bot token, the chat id nor the text, even when sends fail", async () => {
    tg.failNext(500, 1);
    const chat = tg.newUser();
    await turn(tg.text(chat, "words-to-hide"));
    await turn(tg.tap(chat, ACTIONS.balance, "Balance"));
    const logs = rig.logs.join("\n");
    expect(logs).to.include("/webhooks/telegram");
    expect(logs).to.include("telegram 500");
    const tokenSecret = TELEGRAM_BOT_TOKEN.split(":")[1] as string;
    for (const secret of [tokenSecret, TELEGRAM_WEBHOOK_SECRET, chat, "words-to-hide"]) {
      expect(logs, secret).not.to.include(secret);
    }
  });
});

describe("answerCallbackQuery", () => {
  it("should resolve and log the failure, without the token, when Telegram cannot be reached", async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: "info", destination: { write: (l: string) => lines.push(l) } });
    const api = createBotApi({
      apiBaseUrl: `http://127.0.0.1:${await freePort()}`,
      botToken: TELEGRAM_BOT_TOKEN,
      userAgent: "t",
    });
    await answerCallbackQuery(api, logger, "4382bfdwdsb323b2d9");
    expect(lines).to.have.length(1);
    expect(JSON.parse(lines[0] as string)).to.include({ level: "warn", reason: "network ECONNREFUSED" });
    expect(lines[0]).not.to.include(TELEGRAM_BOT_TOKEN.split(":")[1]);
  });
});
