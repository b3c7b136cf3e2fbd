import { expect } from "chai";
import { NOT_A_CUSTOMER } from "../../core/domain/dialog/replies.js";
import type { Gateways } from "../../gateways/main.js";
import { MESSENGER } from "../../gateways/messenger/meta-channel.js";
import { metaWebhookBody, signedMetaRequest } from "../../gateways/messenger/simulate.js";
import { TEXT_ONLY } from "../../gateways/whatsapp/routes.js";
import type { ChannelHarness, InboundRequest, ProviderReply } from "../support/channels/harness.js";
import { createInstagramHarness } from "../support/channels/instagram.js";
import { createMessengerHarness } from "../support/channels/messenger.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { deliver, outboxDrained } from "../support/gateway-delivery.js";
import { seedCustomer } from "../support/seed.js";

const ADA_PHONE = "+447700900321";
const SAM_PHONE = "+447700900654";

describe("Messenger webhook → core → outbox → Send API (real Redis and PostgreSQL)", () => {
  let rig: GatewayRig;
  let harness: ChannelHarness;
  let gw: Gateways;
  let ada: { customerId: string };
  let sam: { accountId: string };

  /** Delivers one request, expects 200, and returns the replies it produced once they are sent. */
  const say = async (req: InboundRequest): Promise<ProviderReply[]> => {
    const before = harness.replies.length;
    expect((await deliver(gw, req)).status).to.equal(200);
    await outboxDrained(gw);
    return harness.replies.slice(before);
  };
  const only = (replies: ProviderReply[]): ProviderReply => {
    expect(replies, JSON.stringify(replies)).to.have.length(1);
    return replies[0] as ProviderReply;
  };
  const choice = (reply: ProviderReply, title: string) => {
    const found = reply.choices.find((c) => c.title === title);
    expect(found, `${title} among ${JSON.stringify(reply.choices)}`).not.to.equal(undefined);
    return found as { id: string; title: string };
  };
  const newestCode = async (phone: string): Promise<string> => {
    const [sms] = (await rig.t.core.devOutbox?.read(phone)) ?? [];
    return /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1] ?? "no code";
  };

  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    ada = await seedCustomer(rig.t, ADA_PHONE, 100_00n, "Ada");
    sam = await seedCustomer(rig.t, SAM_PHONE, 0n, "Sam");
    harness = createMessengerHarness();
    await harness.start({ publicBaseUrl: "http://127.0.0.1" });
    gw = rig.gateways({ env: harness.env() });
  });
  afterEach(async () => {
    await rig.close();
    await harness.close();
  });

  it("should link a PSID, add a payee and send money with codes that never enter the chat", async () => {
    const psid = harness.newUser();
    expect(only(await say(harness.text(psid, "what is my balance?")))).to.include({
      to: psid,
      text: NOT_A_CUSTOMER,
    });
    expect(only(await say(harness.text(psid, "link my account"))).text).to.include("customer number");
    expect(only(await say(harness.text(psid, ada.customerId))).text).to.include("one-time code");
    const linkCode = await newestCode(ADA_PHONE);
    const linked = only(await say(harness.text(psid, linkCode)));
    expect(linked.text).to.include("linked to your bank profile, Ada");
    const balance = choice(linked, "Balance");
    expect(only(await say(harness.tap(psid, balance.id, balance.title))).text).to.equal(
      "Your balance is 100.00 EUR.",
    );

    const payee = only(await say(harness.text(psid, `add payee Sam ${sam.accountId}`)));
    const saveCode = only(await say(harness.tap(psid, choice(payee, "Confirm").id, "Confirm")));
    expect(saveCode.text).to.include("6-digit code");
    const payeeCode = await newestCode(ADA_PHONE);
    expect(only(await say(harness.text(psid, payeeCode))).text).to.include("Saved Sam as a payee");

    const confirm = only(await say(harness.text(psid, "send 25 EUR to Sam")));
    expect(confirm.text).to.include("send 25.00 EUR to Sam");
    await say(harness.tap(psid, choice(confirm, "Confirm").id, "Confirm"));
    const transferCode = await newestCode(ADA_PHONE);
    expect(only(await say(harness.text(psid, transferCode))).text).to.include(
      "Done: you sent 25.00 EUR to Sam. Your balance is now 75.00 EUR.",
    );
    for (const code of [linkCode, payeeCode, transferCode]) {
      expect(harness.replies.some((r) => r.text.includes(code))).to.equal(false);
    }
    expect(harness.replies.every((r) => r.to === psid)).to.equal(true);
  });

  it("should answer a postback button like a quick reply, and a redelivered postback once", async () => {
    const psid = harness.newUser();
    const postback = signedMetaRequest(
      MESSENGER,
      metaWebhookBody(MESSENGER, [
        {
          sender: { id: psid },
          recipient: { id: "1" },
          timestamp: 1,
          postback: { mid: "m_pb1", title: "Link my account", payload: "LINK" },
        },
      ]),
      harness.env().MESSENGER_APP_SECRET as string,
    );
    const [link] = await say(postback);
    expect(link?.text).to.include("send me your customer number");
    expect(await say(postback)).to.deep.equal([]);
  });

  it("should send one reply when Meta delivers the same message twice", async () => {
    const psid = harness.newUser();
    const hello = harness.text(psid, "hello");
    expect(await say(hello)).to.have.length(1);
    expect(await say(hello)).to.have.length(0);
    expect(await say(harness.text(psid, "help"))).to.have.length(1);
  });

  it("should ignore echoes and receipts, and answer an attachment with 'text only'", async () => {
    const psid = harness.newUser();
    const secret = harness.env().MESSENGER_APP_SECRET as string;
    const events = [
      {
        sender: { id: "1" },
        recipient: { id: psid },
        timestamp: 1,
        message: { mid: "m_e", is_echo: true, text: "x" },
      },
      {
        sender: { id: psid },
        recipient: { id: "1" },
        timestamp: 2,
        delivery: { mids: ["m_e"], watermark: 2 },
      },
      { sender: { id: psid }, recipient: { id: "1" }, timestamp: 3, read: { watermark: 3 } },
      {
        sender: { id: psid },
        recipient: { id: "1" },
        timestamp: 4,
        message: { mid: "m_img", attachments: [{ type: "image" }] },
      },
    ];
    const replies = await say(signedMetaRequest(MESSENGER, metaWebhookBody(MESSENGER, events), secret));
    expect(replies).to.deep.equal([{ to: psid, text: TEXT_ONLY, choices: [] }]);
  });

  it("should refuse missing, forged and Instagram-signed bodies with 401, count them and answer none", async () => {
    const psid = harness.newUser();
    const good = harness.text(psid, "balance");
    const instagram = createInstagramHarness();
    await instagram.start({ publicBaseUrl: "http://127.0.0.1" });
    const signedForInstagram = { ...instagram.text(psid, "balance"), path: MESSENGER.path };
    await instagram.close();
    for (const req of [harness.unsigned(good), harness.forged(good), signedForInstagram]) {
      expect((await deliver(gw, req)).status).to.equal(401);
    }
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).to.match(/teller_webhook_signature_failures_total\{channel="messenger"[^}]*\} 3/);
    await outboxDrained(gw);
    expect(harness.replies).to.have.length(0);
  });

  it("should answer the handshake for its own verify token only, and acknowledge malformed bodies", async () => {
    const handshake = harness.handshake?.();
    if (!handshake) throw new Error("Messenger has a handshake");
    const ok = await deliver(gw, handshake.good);
    expect([ok.status, ok.text]).to.deep.equal([200, handshake.expectBody]);
    expect((await deliver(gw, handshake.wrong)).status).to.equal(403);
    expect(await say(harness.malformed())).to.deep.equal([]);
  });

  it("should deliver in order, once each, through 500s and 429s from the Send API", async () => {
    const psid = harness.newUser();
    harness.failNext(500, 2);
    harness.failNext(429, 1);
    for (const text of ["hi", "link my account", "cancel"]) {
      expect((await deliver(gw, harness.text(psid, text))).status).to.equal(200);
    }
    const replies = await harness.waitForReplies(3);
    expect(replies.map((r) => r.text.slice(0, 20))).to.deep.equal([
      "Hello! How can I hel",
      "To link this chat to",
      "Cancelled. Nothing w",
    ]);
    await outboxDrained(gw);
    expect(harness.replies).to.have.length(3);
  });

  it("should log no PSID, message text, token or app secret", async () => {
    const psid = harness.newUser();
    await say(harness.text(psid, "what is my balance? words-to-hide"));
    const env = harness.env();
    const logs = rig.logs.join("\n") + rig.t.logs.join("\n");
    expect(logs).to.include("/webhooks/messenger");
    for (const secret of [psid, "words-to-hide", env.MESSENGER_PAGE_ACCESS_TOKEN, env.MESSENGER_APP_SECRET]) {
      expect(logs).not.to.include(secret as string);
    }
  });
});
