import { expect } from "chai";
import request from "supertest";
import { TEXT_ONLY } from "../../gateways/whatsapp/routes.js";
import {
  type GatewayRig,
  sign,
  startGatewayRig,
  VERIFY_TOKEN,
  whatsAppMessage,
  whatsAppText,
  whatsAppValue,
} from "../support/gateway.js";
import { freePort } from "../support/redis.js";
import { seedCustomer } from "../support/seed.js";

const CUSTOMER = "+447700900321";

async function seed(rig: GatewayRig) {
  await seedCustomer(rig.t, CUSTOMER, 42_00n, "Ada");
}

describe("WhatsApp webhook → core → outbox → Graph API", () => {
  let rig: GatewayRig;
  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    await seed(rig);
  });
  afterEach(() => rig.close());

  const post = (app: ReturnType<GatewayRig["gateways"]>["app"], hook: { body: string; signature: string }) =>
    request(app.callback())
      .post("/webhooks/whatsapp")
      .set("content-type", "application/json")
      .set("x-hub-signature-256", hook.signature)
      .send(hook.body);

  it("should answer a customer's balance question through the Graph API, once", async () => {
    const gw = rig.gateways();
    const res = await post(gw.app, whatsAppText(CUSTOMER, "what is my balance?")).set(
      "x-request-id",
      "trace-me-1",
    );
    expect(res.status).to.equal(200);
    // The request id follows the message into the core's log line for HandleMessage.
    expect(
      rig.t.logs.some((l) => l.includes('"requestId":"trace-me-1"') && l.includes("HandleMessage")),
    ).to.equal(true);
    const [reply] = await rig.graph.waitFor(1);
    expect(reply?.to).to.equal(CUSTOMER);
    expect(reply?.text).to.equal("Your balance is 42.00 EUR.");
    expect(reply?.choices.map((c) => c.id)).to.deep.equal(["BALANCE", "TRANSACTIONS", "PAYEES"]);
    expect(reply?.authorization).to.equal("Bearer test-access-token-0123456789");
    expect(reply?.userAgent).to.match(/^Teller\/\d+\.\d+\.\d+/);
  });

  it("should send one reply when Meta delivers the same message twice", async () => {
    const gw = rig.gateways();
    const hook = whatsAppText(CUSTOMER, "balance");
    expect((await post(gw.app, hook)).status).to.equal(200);
    expect((await post(gw.app, hook)).status).to.equal(200);
    await rig.graph.waitFor(1);
    expect((await post(gw.app, whatsAppText(CUSTOMER, "hello"))).status).to.equal(200);
    const received = await rig.graph.waitFor(2);
    expect(received.map((r) => r.text)).to.deep.equal([
      "Your balance is 42.00 EUR.",
      "Hello Ada! How can I help you today?",
    ]);
  });

  it("should deliver in order, once each, through 500s and 429s", async () => {
    rig.graph.failNext([{ status: 500 }, { status: 429, retryAfter: 1 }, { status: 503 }]);
    const gw = rig.gateways();
    for (const text of ["hi", "balance", "help"])
      expect((await post(gw.app, whatsAppText(CUSTOMER, text))).status).to.equal(200);
    const received = await rig.graph.waitFor(3, 15_000);
    expect(received.map((r) => r.text.slice(0, 18))).to.deep.equal([
      "Hello Ada! How can",
      "Your balance is 42",
      "I can tell you you",
    ]);
    expect(rig.graph.requestCount()).to.equal(6);
  });

  it("should deliver replies left pending by a gateway that stopped, once", async () => {
    rig.graph.failNext([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }]);
    const first = rig.gateways();
    expect((await post(first.app, whatsAppText(CUSTOMER, "balance"))).status).to.equal(200);
    await first.close(); // the process goes away with the reply still queued in Redis
    const second = rig.gateways();
    await rig.graph.waitFor(1, 15_000);
    for (let i = 0; i < 200 && (await second.outbox.depth()) > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(rig.graph.received.map((r) => r.text)).to.deep.equal(["Your balance is 42.00 EUR."]);
  });

  it("should tell a sender of an image that it reads text only, and ignore status callbacks", async () => {
    const gw = rig.gateways();
    const image = whatsAppMessage({
      from: CUSTOMER.slice(1),
      id: "wamid.img1",
      timestamp: "1749416383",
      type: "image",
      image: { id: "m1", mime_type: "image/jpeg" },
    });
    expect((await post(gw.app, image)).status).to.equal(200);
    const status = whatsAppValue({
      statuses: [
        { id: "wamid.out1", status: "delivered", timestamp: "1749416383", recipient_id: CUSTOMER.slice(1) },
      ],
    });
    expect((await post(gw.app, status)).status).to.equal(200);
    const received = await rig.graph.waitFor(1);
    expect(received.map((r) => r.text)).to.deep.equal([TEXT_ONLY]);
    // The worker acknowledges just after the Graph API answers: wait for the outbox to empty.
    for (let i = 0; i < 200 && (await gw.outbox.depth()) > 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(await gw.outbox.depth()).to.equal(0);
    expect(rig.graph.received).to.have.length(1);
  });

  it("should refuse missing, forged, truncated and stale signatures with 401 and count them", async () => {
    const gw = rig.gateways();
    const hook = whatsAppText(CUSTOMER, "balance");
    const changed = hook.body.replace("balance", "balancf");
    const cases = [
      undefined,
      sign(hook.body, "wrong-secret"),
      hook.signature.slice(0, 40),
      "sha1=abc",
      hook.signature,
    ];
    const bodies = [hook.body, hook.body, hook.body, hook.body, changed];
    for (let i = 0; i < cases.length; i++) {
      const req = request(gw.app.callback())
        .post("/webhooks/whatsapp")
        .set("content-type", "application/json");
      if (cases[i] !== undefined) req.set("x-hub-signature-256", cases[i] as string);
      const res = await req.send(bodies[i] as string);
      expect(res.status, `case ${i}`).to.equal(401);
    }
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).to.match(/teller_webhook_signature_failures_total\{channel="whatsapp"[^}]*\} 5/);
    expect(rig.graph.received).to.have.length(0);
  });

  it("should answer the verification handshake only for the right token", async () => {
    const gw = rig.gateways();
    const okRes = await request(gw.app.callback())
      .get("/webhooks/whatsapp")
      .query({ "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444" });
    expect(okRes.status).to.equal(200);
    expect(okRes.text).to.equal("1158201444");
    const bad = await request(gw.app.callback())
      .get("/webhooks/whatsapp")
      .query({ "hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1158201444" });
    expect(bad.status).to.equal(403);
  });

  it("should acknowledge a signed but malformed payload without a reply or a crash", async () => {
    const gw = rig.gateways();
    for (const body of ['{"object":"whatsapp_business_account","entry":"x"}', "not json", "{}"]) {
      const res = await post(gw.app, { body, signature: sign(body) });
      expect(res.status).to.equal(200);
    }
    expect((await post(gw.app, whatsAppText(CUSTOMER, "hi"))).status).to.equal(200);
    expect((await rig.graph.waitFor(1)).map((r) => r.text)).to.have.length(1);
  });

  it("should log no phone number, message text or token", async () => {
    const gw = rig.gateways();
    await post(gw.app, whatsAppText(CUSTOMER, "what is my balance? words-to-hide"));
    await rig.graph.waitFor(1);
    const logs = rig.logs.join("\n") + rig.t.logs.join("\n");
    expect(logs).to.include("/webhooks/whatsapp");
    for (const secret of [CUSTOMER, CUSTOMER.slice(1), "words-to-hide", "42.00", "test-access-token"]) {
      expect(logs, secret).not.to.include(secret);
    }
    expect(logs).not.to.match(/eyJ[A-Za-z0-9_-]{10,}\./);
  });

  it("should answer 503 and store nothing while the core is unreachable, then answer the redelivery", async () => {
    const down = rig.gateways({ env: { CORE_URL: `127.0.0.1:${await freePort()}`, HTTP_TIMEOUT: "1s" } });
    const hook = whatsAppText(CUSTOMER, "balance");
    const refused = await post(down.app, hook);
    expect(refused.status).to.equal(503);
    expect(refused.body).to.deep.equal({ error: "service unavailable" });
    expect(await down.outbox.depth()).to.equal(0);
    const up = rig.gateways();
    expect((await post(up.app, hook)).status).to.equal(200);
    expect((await rig.graph.waitFor(1)).map((r) => r.text)).to.deep.equal(["Your balance is 42.00 EUR."]);
  });
});
