import { createHmac } from "node:crypto";
import { expect } from "chai";
import { INSTAGRAM, MESSENGER } from "../../gateways/messenger/meta-channel.js";
import { signMetaBody, simulateMetaInbound } from "../../gateways/messenger/simulate.js";
import { checkVerifyHandshake, verifyHubSignature } from "../../gateways/messenger/verify.js";

// channels.md §2.1: Messenger and Instagram sign as WhatsApp does, so the §1.10 vectors apply unchanged.
const SDK_VECTOR = "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221";
const ELIXIR_VECTOR = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";

/** A Messenger body with an escaped "é" (six ASCII characters), as Meta sends non-ASCII text. */
const RAW_ESCAPED = String.raw`{"object":"page","entry":[{"id":"1","time":1458692752478,"messaging":[{"sender":{"id":"1254459154682919"},"recipient":{"id":"1"},"timestamp":1458692752478,"message":{"mid":"m_1","text":"Caf\u00e9?"}}]}]}`;

describe("Messenger and Instagram webhook signatures", () => {
  it("should accept the published vectors (WhatsApp Node SDK and Elixir whatsapp_sdk)", () => {
    expect(verifyHubSignature(Buffer.from("test"), SDK_VECTOR, "TEST_APP_SECRET")).to.equal(true);
    expect(verifyHubSignature(Buffer.from("test"), ELIXIR_VECTOR, "secret")).to.equal(true);
  });

  it("should check the raw bytes, refusing the same JSON re-serialised with a real é", () => {
    const header = `sha256=${createHmac("sha256", "app-secret").update(RAW_ESCAPED).digest("hex")}`;
    expect(verifyHubSignature(Buffer.from(RAW_ESCAPED), header, "app-secret")).to.equal(true);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(RAW_ESCAPED)));
    expect(reserialised.toString("utf8")).to.include("Café");
    expect(verifyHubSignature(reserialised, header, "app-secret")).to.equal(false);
  });

  it("should refuse a body signed with the other channel's app secret", () => {
    const body = Buffer.from(RAW_ESCAPED);
    expect(verifyHubSignature(body, signMetaBody(body, "instagram-secret"), "messenger-secret")).to.equal(
      false,
    );
  });

  it("should refuse missing, truncated, legacy SHA-1 and secretless signatures", () => {
    const body = Buffer.from("test");
    for (const header of [
      undefined,
      "",
      SDK_VECTOR.slice(0, 40),
      `sha1=${"a".repeat(40)}`,
      `${SDK_VECTOR}0`,
    ]) {
      expect(verifyHubSignature(body, header, "TEST_APP_SECRET"), String(header)).to.equal(false);
    }
    expect(verifyHubSignature(body, signMetaBody(body, ""), "")).to.equal(false);
  });

  it("should sign simulated deliveries so that exactly the channel's secret verifies them", () => {
    for (const channel of [MESSENGER, INSTAGRAM]) {
      const request = simulateMetaInbound({
        channel,
        appSecret: "s3cret",
        from: "123",
        action: { text: "hi" },
      });
      const header = request.headers["x-hub-signature-256"];
      expect(request.path).to.equal(channel.path);
      expect(JSON.parse(request.body)).to.include({ object: channel.object });
      expect(verifyHubSignature(Buffer.from(request.body), header, "s3cret")).to.equal(true);
      expect(verifyHubSignature(Buffer.from(request.body), header, "s3cret2")).to.equal(false);
    }
  });
});

describe("Messenger and Instagram verification handshake", () => {
  const query = (token: unknown, challenge: unknown = "1158201444", mode: unknown = "subscribe") => ({
    "hub.mode": mode,
    "hub.verify_token": token,
    "hub.challenge": challenge,
  });

  it("should echo the challenge for the right verify token", () => {
    expect(checkVerifyHandshake(query("messenger-token"), "messenger-token")).to.equal("1158201444");
  });

  it("should refuse a wrong token, another mode, repeated parameters or an empty configured token", () => {
    expect(checkVerifyHandshake(query("instagram-token"), "messenger-token")).to.equal(undefined);
    expect(checkVerifyHandshake(query("messenger-token", "1", "unsubscribe"), "messenger-token")).to.equal(
      undefined,
    );
    expect(checkVerifyHandshake(query(["messenger-token", "x"]), "messenger-token")).to.equal(undefined);
    expect(checkVerifyHandshake(query(""), "")).to.equal(undefined);
  });

  it("should not reflect a challenge that is not letters and digits", () => {
    expect(checkVerifyHandshake(query("t", "<script>"), "t")).to.equal(undefined);
  });
});
