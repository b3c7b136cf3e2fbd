import { createHmac } from "node:crypto";
import { expect } from "chai";
import { checkVerifyHandshake, verifyHubSignature } from "../../gateways/whatsapp/verify.js";

/** Computed here, independently of the unit under test. */
function sign(body: Buffer, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

// channels.md §1.10, derived vector: the raw body carries `\u00e9` as six ASCII characters.
const RAW_ESCAPED = String.raw`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Jos\u00e9"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.TEST1","timestamp":"1749416383","type":"text","text":{"body":"Caf\u00e9?"}}]},"field":"messages"}]}]}`;
const ESCAPED_HEADER = "sha256=135fcd57453464acd628d54da21bf70fdec5000bd2ebd82e73741bd5805a213a";
const RESERIALISED_HEADER = "sha256=cdbf654b5ddf56aaae0c270088feae0b691a72d6d30641de5f00e3b110a265e9";

describe("verifyHubSignature", () => {
  const body = Buffer.from("test");

  it("should accept the WhatsApp Node SDK vector (TEST_APP_SECRET, body test)", () => {
    const header = "sha256=0c61947b610d4f45e65f3d680e26027121ec2413e77598bcb6cfc6e0d9888221";
    expect(verifyHubSignature(body, header, "TEST_APP_SECRET")).to.equal(true);
  });

  it("should accept the Elixir whatsapp_sdk vector (secret, body test)", () => {
    const header = "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914";
    expect(verifyHubSignature(body, header, "secret")).to.equal(true);
  });

  it("should accept the derived vector over the raw escaped-unicode bytes", () => {
    expect(RAW_ESCAPED).to.include("Jos\\u00e9");
    expect(verifyHubSignature(Buffer.from(RAW_ESCAPED), ESCAPED_HEADER, "test_app_secret")).to.equal(true);
  });

  it("should refuse the re-serialised body (real é) under the raw body's signature", () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(RAW_ESCAPED)));
    expect(reserialised.toString("utf8")).to.include("José");
    expect(verifyHubSignature(reserialised, ESCAPED_HEADER, "test_app_secret")).to.equal(false);
    // The vector's second value is indeed that body's own signature.
    expect(verifyHubSignature(reserialised, RESERIALISED_HEADER, "test_app_secret")).to.equal(true);
  });

  it("should accept a signature computed independently over arbitrary bytes", () => {
    const bytes = Buffer.from([0x00, 0xff, 0x7b, 0xc3, 0xa9]);
    expect(verifyHubSignature(bytes, sign(bytes, "s3cret"), "s3cret")).to.equal(true);
  });

  it("should refuse a signature made with another secret", () => {
    expect(verifyHubSignature(body, sign(body, "not-the-secret"), "TEST_APP_SECRET")).to.equal(false);
  });

  it("should refuse a missing or empty header", () => {
    expect(verifyHubSignature(body, undefined, "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, "", "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, "sha256=", "TEST_APP_SECRET")).to.equal(false);
  });

  it("should refuse a truncated or over-long signature without throwing", () => {
    const header = sign(body, "TEST_APP_SECRET");
    expect(verifyHubSignature(body, header.slice(0, -1), "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, header.slice(0, -2), "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, `${header}00`, "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, `${header} `, "TEST_APP_SECRET")).to.equal(false);
  });

  it("should refuse a wrong prefix or a non-hex digest", () => {
    const hex = sign(body, "TEST_APP_SECRET").slice("sha256=".length);
    expect(verifyHubSignature(body, hex, "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, `sha1=${hex}`, "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, `SHA256=${hex}`, "TEST_APP_SECRET")).to.equal(false);
    expect(verifyHubSignature(body, `sha256=${"z".repeat(64)}`, "TEST_APP_SECRET")).to.equal(false);
  });

  it("should accept upper-case hex digits, as documented (case carries no information)", () => {
    const header = `sha256=${sign(body, "TEST_APP_SECRET").slice("sha256=".length).toUpperCase()}`;
    expect(verifyHubSignature(body, header, "TEST_APP_SECRET")).to.equal(true);
  });

  it("should refuse a body changed after signing", () => {
    const signed = Buffer.from(RAW_ESCAPED);
    const changed = Buffer.from(RAW_ESCAPED.replace("Caf", "Cav"));
    expect(verifyHubSignature(signed, ESCAPED_HEADER, "test_app_secret")).to.equal(true);
    expect(verifyHubSignature(changed, ESCAPED_HEADER, "test_app_secret")).to.equal(false);
  });

  it("should refuse everything when the app secret is empty", () => {
    expect(verifyHubSignature(body, sign(body, ""), "")).to.equal(false);
  });
});

describe("checkVerifyHandshake", () => {
  const query = (overrides: Record<string, unknown>) => ({
    "hub.mode": "subscribe",
    "hub.verify_token": "vibecoding",
    "hub.challenge": "1158201444",
    ...overrides,
  });

  it("should return the challenge for Meta's documented handshake", () => {
    expect(checkVerifyHandshake(query({}), "vibecoding")).to.equal("1158201444");
  });

  it("should refuse a wrong, missing or repeated verify token", () => {
    expect(checkVerifyHandshake(query({ "hub.verify_token": "vibecodinG" }), "vibecoding")).to.equal(
      undefined,
    );
    expect(checkVerifyHandshake(query({ "hub.verify_token": "vibe" }), "vibecoding")).to.equal(undefined);
    expect(checkVerifyHandshake(query({ "hub.verify_token": undefined }), "vibecoding")).to.equal(undefined);
    const repeated = query({ "hub.verify_token": ["vibecoding", "vibecoding"] });
    expect(checkVerifyHandshake(repeated, "vibecoding")).to.equal(undefined);
  });

  it("should refuse a mode other than subscribe", () => {
    expect(checkVerifyHandshake(query({ "hub.mode": "unsubscribe" }), "vibecoding")).to.equal(undefined);
    expect(checkVerifyHandshake(query({ "hub.mode": undefined }), "vibecoding")).to.equal(undefined);
  });

  it("should refuse to echo a hostile or over-long challenge", () => {
    const hostile = [
      "<script>alert(1)</script>",
      "1158201444\r\nSet-Cookie: a=b",
      "",
      "a".repeat(65),
      "12 34",
    ];
    for (const challenge of hostile) {
      expect(checkVerifyHandshake(query({ "hub.challenge": challenge }), "vibecoding")).to.equal(undefined);
    }
    expect(checkVerifyHandshake(query({ "hub.challenge": "a".repeat(64) }), "vibecoding")).to.equal(
      "a".repeat(64),
    );
  });

  it("should refuse every handshake when no verify token is configured", () => {
    expect(checkVerifyHandshake(query({ "hub.verify_token": "" }), "")).to.equal(undefined);
  });
});
