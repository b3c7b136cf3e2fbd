import { expect } from "chai";
import request from "supertest";
import { SAME_CHAT_TEXT } from "../../core/domain/dialog/flow-text.js";
import { FALLBACK_TEXT } from "../../core/domain/dialog/replies.js";
import type { Gateways } from "../../gateways/main.js";
import { HELP_TEXT } from "../../gateways/twilio/keywords.js";
import { EMPTY_TWIML } from "../../gateways/twilio/routes.js";
import { simulateTwilioMessage } from "../../gateways/twilio/simulate.js";
import { TEXT_ONLY } from "../../gateways/whatsapp/routes.js";
import type { InboundRequest, ProviderReply } from "../support/channels/harness.js";
import {
  createTwilioHarness,
  TWILIO_ACCOUNT_SID,
  TWILIO_AUTH_TOKEN,
  TWILIO_NUMBER,
  type TwilioHarness,
} from "../support/channels/twilio.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { freePort } from "../support/redis.js";
import { seedCustomer } from "../support/seed.js";

const PUBLIC = "https://bank.example";
const CUSTOMER = "+447700900321";
const BOB = "+447700900654";
const MENU = ["Balance", "Recent payments", "Payees"];
const SIM = {
  accountSid: TWILIO_ACCOUNT_SID,
  authToken: TWILIO_AUTH_TOKEN,
  publicBaseUrl: PUBLIC,
  smsTo: TWILIO_NUMBER,
};

describe("Twilio webhook → core → outbox → Messages API", () => {
  let rig: GatewayRig;
  let h: TwilioHarness;
  let gw: Gateways;
  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    h = createTwilioHarness();
    await h.start({ publicBaseUrl: PUBLIC });
    await seedCustomer(rig.t, CUSTOMER, 42_00n, "Ada");
    gw = rig.gateways({ env: h.env() });
  });
  afterEach(async () => {
    await rig.close();
    await h.close();
  });

  const deliver = async (inbound: InboundRequest, app = gw.app, requestId = "") => {
    let call = request(app.callback()).post(inbound.path);
    for (const [name, value] of Object.entries(inbound.headers)) call = call.set(name, value);
    if (requestId) call = call.set("x-request-id", requestId);
    return call.send(inbound.body ?? "");
  };
  const turn = async (inbound: InboundRequest): Promise<ProviderReply> => {
    const before = h.replies.length;
    expect((await deliver(inbound)).status).to.equal(200);
    return (await h.waitForReplies(before + 1))[before] as ProviderReply;
  };
  const drained = async () => {
    for (let i = 0; i < 300 && (await gw.outbox.depth()) > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await gw.outbox.depth()).to.equal(0);
  };
  const code = async (phone: string) => {
    const [sms] = (await rig.t.core.devOutbox?.read(phone)) ?? [];
    return /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1] ?? "no code";
  };

  it("should answer with empty TwiML and text the balance back by SMS, with numbered options", async () => {
    const res = await deliver(h.text(CUSTOMER, "what is my balance?"), gw.app, "trace-twilio-1");
    expect(res.status).to.equal(200);
    expect(res.headers["content-type"]).to.match(/^text\/xml/);
    expect(res.text).to.equal(EMPTY_TWIML);
    expect(rig.t.logs.some((l) => l.includes("trace-twilio-1") && l.includes("HandleMessage"))).to.equal(
      true,
    );
    const [reply] = await h.waitForReplies(1);
    expect(reply).to.deep.equal({
      to: CUSTOMER,
      text: "Your balance is 42.00 EUR.",
      choices: MENU.map((title, i) => ({ id: String(i + 1), title })),
    });
    expect(await rig.graph.requestCount()).to.equal(0);
  });

  it("should take a reply of an option's number as that option, through a whole payee and transfer flow", async () => {
    const bob = await seedCustomer(rig.t, BOB, 0n, "Bob");
    // Over WhatsApp through Twilio the code goes by SMS: another conversation than this chat.
    const wa = (body: string) => simulateTwilioMessage(SIM, { from: CUSTOMER, body, whatsapp: true });
    expect((await turn(wa("hi"))).choices.map((c) => c.title)).to.deep.equal(MENU);
    expect((await turn(wa("1"))).text).to.equal("Your balance is 42.00 EUR.");
    const payee = await turn(wa(`add payee Bob ${bob.accountId}`));
    expect(payee.choices.map((c) => c.title)).to.deep.equal(["Confirm", "Cancel"]);
    expect((await turn(wa("1"))).text).to.include("code");
    expect((await turn(wa(await code(CUSTOMER)))).text).to.include("Saved Bob as a payee");
    await turn(wa("send 5 EUR to Bob"));
    expect((await turn(wa("2"))).text).to.include("Cancelled");
    expect((await rig.t.core.ledger.getAccount(bob.accountId))?.balance).to.equal(0n);
    await turn(wa("send 5 EUR to Bob"));
    await turn(wa("1."));
    const done = await turn(wa(await code(CUSTOMER)));
    expect(done.text).to.equal("Done: you sent 5.00 EUR to Bob. Your balance is now 37.00 EUR.");
    expect((await rig.t.core.ledger.getAccount(bob.accountId))?.balance).to.equal(500n);
  });

  it("should not text a code into the SMS conversation that asks for it", async () => {
    const bob = await seedCustomer(rig.t, BOB, 0n, "Bob");
    await turn(h.text(CUSTOMER, `add payee Bob ${bob.accountId}`));
    expect((await turn(h.text(CUSTOMER, "1"))).text).to.equal(SAME_CHAT_TEXT);
    expect(await rig.t.core.devOutbox?.read(CUSTOMER)).to.deep.equal([]);
  });

  it("should pass a number on as text when it is past the menu, or no menu offered it", async () => {
    expect((await turn(h.text(CUSTOMER, "hi"))).choices).to.have.length(3);
    expect((await turn(h.text(CUSTOMER, "4"))).text).to.equal(FALLBACK_TEXT);
    expect((await turn(h.text(BOB, "1"))).text).not.to.equal("Your balance is 42.00 EUR.");
  });

  it("should leave STOP and START to Twilio, answer HELP with the fixed text, and pass CANCEL on", async () => {
    for (const [word, id] of [
      ["STOP", "kw-stop"],
      ["start", "kw-start"],
    ] as const) {
      const res = await deliver(h.text(CUSTOMER, word), gw.app, id);
      expect(res.status).to.equal(200);
      expect(res.text).to.equal(EMPTY_TWIML);
      expect(
        rig.t.logs.some((l) => l.includes(id)),
        `${word} reached the core`,
      ).to.equal(false);
    }
    expect((await turn(h.text(CUSTOMER, "Help"))).text).to.equal(HELP_TEXT);
    expect((await turn(h.text(CUSTOMER, "cancel"))).text).to.equal("There is nothing to cancel.");
    await drained();
    expect(h.replies.map((r) => r.text)).to.deep.equal([HELP_TEXT, "There is nothing to cancel."]);
  });

  it("should tell a sender of media that it reads text only, and ignore status callbacks", async () => {
    const status = simulateTwilioMessage(SIM, { from: CUSTOMER, extra: { MessageStatus: "delivered" } });
    expect((await deliver(status)).text).to.equal(EMPTY_TWIML);
    const media = simulateTwilioMessage(SIM, { from: CUSTOMER, body: "look", numMedia: 1 });
    expect((await turn(media)).text).to.equal(TEXT_ONLY);
    await drained();
    expect(h.replies).to.have.length(1);
  });

  it("should answer WhatsApp through Twilio on the whatsapp channel, from the whatsapp: sender", async () => {
    expect(
      (await deliver(simulateTwilioMessage(SIM, { from: CUSTOMER, body: "balance", whatsapp: true }))).status,
    ).to.equal(200);
    await h.waitForReplies(1);
    expect(h.replies[0]).to.deep.include({ to: `whatsapp:${CUSTOMER}`, text: "Your balance is 42.00 EUR." });
    // The menu belongs to the WhatsApp address: "1" on WhatsApp is Balance, "1" by SMS is not.
    const tap = simulateTwilioMessage(SIM, { from: CUSTOMER, body: "1", whatsapp: true });
    expect((await turn(tap)).text).to.equal("Your balance is 42.00 EUR.");
    expect((await turn(h.text(CUSTOMER, "1"))).text).to.equal(FALLBACK_TEXT);
  });

  it("should answer 503 and store nothing while the core is unreachable, then answer the redelivery once", async () => {
    const down = rig.gateways({
      env: { ...h.env(), CORE_URL: `127.0.0.1:${await freePort()}`, HTTP_TIMEOUT: "1s" },
    });
    const message = h.text(CUSTOMER, "balance");
    expect((await deliver(message, down.app)).status).to.equal(503);
    expect(await down.outbox.depth()).to.equal(0);
    expect((await deliver(message)).status).to.equal(200);
    expect((await deliver(message)).status).to.equal(200);
    await h.waitForReplies(1);
    await drained();
    expect(h.replies.map((r) => r.text)).to.deep.equal(["Your balance is 42.00 EUR."]);
  });

  it("should drop, without retrying, a reply to a customer who opted out (21610)", async () => {
    h.fake().optOut(BOB);
    expect((await deliver(h.text(BOB, "hi"))).status).to.equal(200);
    await drained();
    expect(h.fake().requestCount()).to.equal(1);
    expect(h.replies).to.have.length(0);
    const [dead] = await gw.outbox.deadLetters(10);
    expect(dead).to.deep.include({ reason: "twilio 400 21610" });
  });
});
