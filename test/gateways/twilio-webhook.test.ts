import { createHash } from "node:crypto";
import { expect } from "chai";
import request from "supertest";
// Signatures computed by the official SDK, independently of the gateway's code (tests only).
import { getExpectedTwilioSignature } from "twilio/lib/webhooks/webhooks.js";
import type { Gateways } from "../../gateways/main.js";
import { EMPTY_TWIML } from "../../gateways/twilio/routes.js";
import { createTwilioHarness, TWILIO_AUTH_TOKEN, type TwilioHarness } from "../support/channels/twilio.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { seedCustomer } from "../support/seed.js";

const PUBLIC = "https://bank.example/teller";
const CUSTOMER = "+447700900321";

describe("Twilio webhook authenticity", () => {
  let rig: GatewayRig;
  let h: TwilioHarness;
  let gw: Gateways;
  beforeEach(async () => {
    rig = await startGatewayRig();
    h = createTwilioHarness();
    await h.start({ publicBaseUrl: PUBLIC });
    await seedCustomer(rig.t, CUSTOMER, 42_00n, "Ada");
    gw = rig.gateways({ env: h.env() });
  });
  afterEach(async () => {
    await rig.close();
    await h.close();
  });

  /** A form post of `params` to `path`, signed over `signedUrl` by the official SDK. */
  const post = (path: string, params: Record<string, string>, signedUrl: string | undefined) => {
    let call = request(gw.app.callback()).post(path).set("content-type", "application/x-www-form-urlencoded");
    if (signedUrl !== undefined)
      call = call.set("x-twilio-signature", getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, signedUrl, params));
    return call.send(new URLSearchParams(params).toString());
  };
  const paramsOf = (text: string) => Object.fromEntries(new URLSearchParams(h.text(CUSTOMER, text).body));

  it("should check the URL Twilio called (PUBLIC_BASE_URL), not the Host a proxy rewrote", async () => {
    const params = paramsOf("balance");
    const res = await post("/webhooks/twilio", params, `${PUBLIC}/webhooks/twilio`)
      .set("host", "10.0.0.7:3000")
      .set("x-forwarded-host", "attacker.example")
      .set("x-forwarded-proto", "http");
    expect(res.status).to.equal(200);
    expect(res.text).to.equal(EMPTY_TWIML);
    const asHostSaw = await post(
      "/webhooks/twilio",
      paramsOf("balance"),
      "http://10.0.0.7:3000/webhooks/twilio",
    ).set("host", "10.0.0.7:3000");
    expect(asHostSaw.status).to.equal(401);
    expect((await h.waitForReplies(1)).map((r) => r.text)).to.deep.equal(["Your balance is 42.00 EUR."]);
  });

  it("should accept the default-port form and cover the query string", async () => {
    const withPort = await post(
      "/webhooks/twilio?tenant=a",
      paramsOf("hi"),
      `${PUBLIC.replace(".example", ".example:443")}/webhooks/twilio?tenant=a`,
    );
    expect(withPort.status).to.equal(200);
    const params = paramsOf("hi");
    const signature = getExpectedTwilioSignature(
      TWILIO_AUTH_TOKEN,
      `${PUBLIC}/webhooks/twilio?tenant=a`,
      params,
    );
    const moved = await request(gw.app.callback())
      .post("/webhooks/twilio?tenant=b")
      .set("x-twilio-signature", signature)
      .send(new URLSearchParams(params).toString());
    expect(moved.status).to.equal(401);
  });

  it("should refuse missing, forged and tampered signatures with 401, count them and answer nothing", async () => {
    const good = h.text(CUSTOMER, "balance");
    const tampered = { ...good, body: good.body?.replace("balance", "balancf") };
    for (const inbound of [h.unsigned(good), h.forged(good), tampered]) {
      let call = request(gw.app.callback()).post(inbound.path);
      for (const [name, value] of Object.entries(inbound.headers)) call = call.set(name, value);
      const res = await call.send(inbound.body ?? "");
      expect(res.status).to.equal(401);
      expect(res.text).not.to.include("Response");
    }
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).to.match(/teller_webhook_signature_failures_total\{channel="twilio"[^}]*\} 3/);
    expect(await gw.outbox.depth()).to.equal(0);
    expect(h.fake().requestCount()).to.equal(0);
  });

  it("should verify a JSON webhook by bodySHA256 and acknowledge it without a reply", async () => {
    const body = JSON.stringify({ MessageSid: `SM${"1".repeat(32)}`, From: CUSTOMER, Body: "balance" });
    const path = `/webhooks/twilio?bodySHA256=${createHash("sha256").update(body).digest("hex")}`;
    const signature = getExpectedTwilioSignature(TWILIO_AUTH_TOKEN, `${PUBLIC}${path}`, {});
    const send = (raw: string) =>
      request(gw.app.callback())
        .post(path)
        .set("content-type", "application/json")
        .set("x-twilio-signature", signature)
        .send(raw);
    const ok = await send(body);
    expect(ok.status).to.equal(200);
    expect(ok.text).to.equal(EMPTY_TWIML);
    expect((await send(body.replace("balance", "balancf"))).status).to.equal(401);
    expect(await gw.outbox.depth()).to.equal(0);
  });

  it("should take only POST", async () => {
    expect((await request(gw.app.callback()).get("/webhooks/twilio")).status).to.equal(405);
  });

  it("should log no phone number, message text or token", async () => {
    const params = paramsOf("what is my balance? words-to-hide");
    await post("/webhooks/twilio", params, `${PUBLIC}/webhooks/twilio`);
    await post("/webhooks/twilio", paramsOf("balance"), "https://wrong.example/webhooks/twilio");
    await h.waitForReplies(1);
    const logs = rig.logs.join("\n") + rig.t.logs.join("\n");
    expect(logs).to.include("/webhooks/twilio");
    expect(logs).to.include("webhook signature refused");
    for (const secret of [CUSTOMER, CUSTOMER.slice(1), "words-to-hide", "42.00", TWILIO_AUTH_TOKEN]) {
      expect(logs, secret).not.to.include(secret);
    }
  });
});
