import { expect } from "chai";
import { loadGatewayConfig } from "../../gateways/config.js";
import { readTwilioConfig, type TwilioConfigContext } from "../../gateways/twilio/config.js";
import { ConfigError } from "../../lib/env.js";
import { createTestKeys } from "../support/core.js";

const SID = `AC${"ab".repeat(16)}`;
const PRODUCTION: TwilioConfigContext = {
  production: true,
  enabled: true,
  devApiBaseUrl: "http://127.0.0.1:3999",
};

function read(env: Record<string, string>, context: TwilioConfigContext = PRODUCTION) {
  const problems: string[] = [];
  const config = readTwilioConfig(env, context, problems);
  return { config, problems };
}

describe("Twilio config", () => {
  it("should require the account, a 32-character token, the sender and an https PUBLIC_BASE_URL in production", () => {
    const { problems } = read({});
    for (const name of ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SMS_FROM", "PUBLIC_BASE_URL"]) {
      expect(problems, name).to.include(`${name} is required in production`);
    }
    const weak = read({
      TWILIO_ACCOUNT_SID: "AC123",
      TWILIO_AUTH_TOKEN: "short",
      TWILIO_SMS_FROM: "Teller",
      PUBLIC_BASE_URL: "http://bank.example/?x=1",
      TWILIO_API_BASE_URL: "http://api.twilio.example",
    }).problems;
    expect(weak).to.include.members([
      "TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits",
      "TWILIO_AUTH_TOKEN is too short (at least 32 characters)",
      "TWILIO_SMS_FROM must be an E.164 number or a short code",
      "PUBLIC_BASE_URL must be https:// in production",
      "PUBLIC_BASE_URL must not have a query or a fragment",
      "TWILIO_API_BASE_URL must be https:// in production",
    ]);
  });

  it("should accept complete production settings, with Twilio's API and the SMS number for WhatsApp", () => {
    const { config, problems } = read({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: "f".repeat(32),
      TWILIO_SMS_FROM: "+15005550006",
      PUBLIC_BASE_URL: "https://bank.example/teller/",
    });
    expect(problems).to.deep.equal([]);
    expect(config).to.deep.equal({
      accountSid: SID,
      authToken: "f".repeat(32),
      apiBaseUrl: "https://api.twilio.com",
      smsFrom: "+15005550006",
      whatsappFrom: "+15005550006",
      publicBaseUrl: "https://bank.example/teller",
    });
    const sandbox = read({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: "f".repeat(32),
      TWILIO_SMS_FROM: "+15005550006",
      TWILIO_WHATSAPP_FROM: "whatsapp:+14155238886",
      PUBLIC_BASE_URL: "https://bank.example",
    });
    expect(sandbox.config.whatsappFrom).to.equal("+14155238886");
    const shortCode = read({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: "f".repeat(32),
      TWILIO_SMS_FROM: "89525",
      PUBLIC_BASE_URL: "https://bank.example",
    });
    expect(shortCode.problems).to.deep.equal([]);
    expect(shortCode.config.whatsappFrom).to.equal("");
  });

  it("should ask nothing of a disabled channel, and default development to local addresses", () => {
    expect(read({}, { ...PRODUCTION, enabled: false }).problems).to.deep.equal([]);
    const dev = read({ GATEWAY_PORT: "4000" }, { ...PRODUCTION, production: false, enabled: true });
    expect(dev.config).to.include({
      apiBaseUrl: "http://127.0.0.1:3999",
      publicBaseUrl: "http://127.0.0.1:4000",
      smsFrom: "+15005550006",
    });
    // Without development secrets there is no token to derive: say so rather than sign with "".
    expect(dev.problems).to.deep.equal(["TWILIO_AUTH_TOKEN is required in production"]);
  });

  it("should be part of the gateway config, turned on by GATEWAYS=twilio", async () => {
    const { privateJwk } = await createTestKeys();
    const env = {
      NODE_ENV: "production",
      TLS_TERMINATED_BY_PROXY: "true",
      GATEWAYS: "twilio",
      JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: "f".repeat(32),
      TWILIO_SMS_FROM: "+15005550006",
    };
    expect(() => loadGatewayConfig(env)).to.throw(ConfigError, /PUBLIC_BASE_URL is required in production/);
    const config = loadGatewayConfig({ ...env, PUBLIC_BASE_URL: "https://bank.example" });
    expect(config.gateways).to.deep.equal(["twilio"]);
    expect(config.twilio.publicBaseUrl).to.equal("https://bank.example");
  });
});
