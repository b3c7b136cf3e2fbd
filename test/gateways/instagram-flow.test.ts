import { expect } from "chai";
import { loadGatewayConfig } from "../../gateways/config.js";
import type { CoreConversation, CoreMessage } from "../../gateways/core-client-port.js";
import { createGateways, type Gateways } from "../../gateways/main.js";
import { INSTAGRAM, MESSENGER } from "../../gateways/messenger/meta-channel.js";
import { metaWebhookBody, signedMetaRequest } from "../../gateways/messenger/simulate.js";
import { systemClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import type { ChannelHarness } from "../support/channels/harness.js";
import { createInstagramHarness } from "../support/channels/instagram.js";
import { createMessengerHarness } from "../support/channels/messenger.js";
import { createTestKeys } from "../support/core.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { deliver, outboxDrained } from "../support/gateway-delivery.js";
import { createTestRedis, type TestRedis } from "../support/redis.js";
import { seedCustomer } from "../support/seed.js";

const ADA_PHONE = "+447700900321";

describe("Instagram and Messenger side by side (real core, Redis and PostgreSQL)", () => {
  let rig: GatewayRig;
  let instagram: ChannelHarness;
  let messenger: ChannelHarness;
  let gw: Gateways;

  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    instagram = createInstagramHarness();
    messenger = createMessengerHarness();
    await instagram.start({ publicBaseUrl: "http://127.0.0.1" });
    await messenger.start({ publicBaseUrl: "http://127.0.0.1" });
    gw = rig.gateways({ env: { ...instagram.env(), ...messenger.env(), GATEWAYS: "instagram,messenger" } });
  });
  afterEach(async () => {
    await rig.close();
    await instagram.close();
    await messenger.close();
  });

  it("should link an Instagram user and answer through Instagram's Send API only", async () => {
    const { customerId } = await seedCustomer(rig.t, ADA_PHONE, 42_00n, "Ada");
    const igsid = instagram.newUser();
    for (const text of ["link my account", customerId]) {
      expect((await deliver(gw, instagram.text(igsid, text))).status).to.equal(200);
    }
    const [sms] = (await rig.t.core.devOutbox?.read(ADA_PHONE)) ?? [];
    const code = /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1] ?? "no code";
    expect((await deliver(gw, instagram.text(igsid, code))).status).to.equal(200);
    expect((await deliver(gw, instagram.tap(igsid, "BALANCE", "Balance"))).status).to.equal(200);
    const replies = await instagram.waitForReplies(4);
    expect(replies.map((r) => r.to)).to.deep.equal([igsid, igsid, igsid, igsid]);
    expect(replies[2]?.text).to.include("linked to your bank profile, Ada");
    expect(replies[3]?.text).to.equal("Your balance is 42.00 EUR.");
    // The same person's Messenger PSID is another chat: not linked by the Instagram link.
    expect((await deliver(gw, messenger.text(messenger.newUser(), "balance"))).status).to.equal(200);
    expect((await messenger.waitForReplies(1))[0]?.text).to.include("link my account");
    await outboxDrained(gw);
    expect(instagram.replies).to.have.length(4);
  });

  it("should refuse a Messenger-signed body on Instagram's webhook, and drop a signed page object", async () => {
    const igsid = instagram.newUser();
    const crossSigned = { ...messenger.text(igsid, "balance"), path: INSTAGRAM.path };
    expect((await deliver(gw, crossSigned)).status).to.equal(401);
    const secret = instagram.env().INSTAGRAM_APP_SECRET as string;
    const events = [
      { sender: { id: igsid }, recipient: { id: "1" }, timestamp: 1, message: { mid: "m_1", text: "hi" } },
    ];
    const pageObject = {
      ...signedMetaRequest(MESSENGER, metaWebhookBody(MESSENGER, events), secret),
      path: INSTAGRAM.path,
    };
    expect((await deliver(gw, pageObject)).status).to.equal(200);
    await outboxDrained(gw);
    expect(instagram.replies).to.deep.equal([]);
    expect(messenger.replies).to.deep.equal([]);
  });
});

describe("Instagram long replies", () => {
  let redis: TestRedis;
  let instagram: ChannelHarness;
  let gw: Gateways;
  const seen: CoreMessage[] = [];
  // 40 lines of about 40 bytes: some 1.6 kB, over Instagram's 1000-byte limit.
  const lines = Array.from(
    { length: 40 },
    (_, i) => `2026-01-${String((i % 28) + 1).padStart(2, "0")}  -12.50 EUR  Café rent ${i}`,
  );
  const long = `EUR account ••ab12, last 40:\n${lines.join("\n")}`;
  const core: CoreConversation = {
    handleMessage: async (message) => {
      seen.push(message);
      return {
        sessionId: "s1",
        duplicate: seen.length > 1,
        sequence: 1,
        replies: [{ text: long, choices: [{ title: "Balance", payload: "BALANCE" }] }],
      };
    },
  };

  beforeEach(async () => {
    redis = await createTestRedis();
    instagram = createInstagramHarness();
    await instagram.start({ publicBaseUrl: "http://127.0.0.1" });
    const { privateJwk } = await createTestKeys();
    const config = loadGatewayConfig({ ...instagram.env(), JWT_PRIVATE_JWK: JSON.stringify(privateJwk) });
    gw = createGateways({
      config,
      clock: systemClock,
      logger: createLogger({ level: "silent" }),
      redis: redis.redis,
      keyPrefix: redis.prefix,
      core,
      worker: { baseDelayMs: 20, maxDelayMs: 200, pollIntervalMs: 10, leaseMs: 2_000 },
    });
  });
  afterEach(async () => {
    await gw.close();
    await instagram.close();
    await redis.cleanup();
  });

  it("should split a long reply into messages of at most 1000 bytes, in order, once", async () => {
    const igsid = instagram.newUser();
    const hook = instagram.text(igsid, "last 40 payments");
    expect((await deliver(gw, hook)).status).to.equal(200);
    expect((await deliver(gw, hook)).status).to.equal(200);
    await outboxDrained(gw);
    const parts = instagram.replies;
    expect(parts.length).to.be.greaterThan(1);
    for (const part of parts) expect(Buffer.byteLength(part.text)).to.be.at.most(1000);
    expect(parts.map((p) => p.text).join("\n")).to.equal(long);
    expect(parts.map((p) => p.choices.length)).to.deep.equal([...parts.slice(1).map(() => 0), 1]);
    expect(seen.map((m) => [m.channel, m.channelUserId])).to.deep.equal([
      ["instagram", igsid],
      ["instagram", igsid],
    ]);
  });
});
