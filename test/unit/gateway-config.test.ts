import { expect } from "chai";
import { loadGatewayConfig } from "../../gateways/config.js";
import { ConfigError } from "../../lib/env.js";
import { createTestKeys } from "../support/core.js";

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadGatewayConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("loadGatewayConfig", () => {
  it("should refuse production without the signing key and the WhatsApp secrets, one line each", () => {
    const problems = problemsOf({ NODE_ENV: "production", GATEWAYS: "whatsapp" });
    for (const name of [
      "JWT_PRIVATE_JWK",
      "WHATSAPP_APP_SECRET",
      "WHATSAPP_VERIFY_TOKEN",
      "WHATSAPP_ACCESS_TOKEN",
      "WHATSAPP_PHONE_NUMBER_ID",
    ]) {
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).to.equal(true);
    }
  });

  it("should accept complete production settings with documented defaults", async () => {
    const { privateJwk } = await createTestKeys();
    const config = loadGatewayConfig({
      NODE_ENV: "production",
      TLS_TERMINATED_BY_PROXY: "true",
      JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
      WHATSAPP_APP_SECRET: "a".repeat(32),
      WHATSAPP_VERIFY_TOKEN: "b".repeat(32),
      WHATSAPP_ACCESS_TOKEN: "c".repeat(64),
      WHATSAPP_PHONE_NUMBER_ID: "106540352242922",
    });
    expect(config).to.include({ gatewayPort: 3000, coreUrl: "127.0.0.1:8080", maxBodyBytes: 1_048_576 });
    expect(config.ratePerIp).to.deep.equal({ points: 100, durationMs: 900_000 });
    expect(config.whatsapp.apiBaseUrl).to.equal("https://graph.facebook.com");
    expect(config.gateways).to.deep.equal(["whatsapp"]);
    expect(config.trustProxy).to.equal(false);
  });

  it("should turn on in production exactly the channels whose secrets are set, unless GATEWAYS says", async () => {
    const { privateJwk } = await createTestKeys();
    const base = {
      NODE_ENV: "production",
      TLS_TERMINATED_BY_PROXY: "true",
      JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
    };
    expect(problemsOf(base)).to.include(
      "no channel is configured: set a channel's secrets (see .env.example) or GATEWAYS",
    );
    const web = loadGatewayConfig({ ...base, WEBCHAT_SESSION_SECRET: "w".repeat(40) });
    expect(web.gateways).to.deep.equal(["web"]);
    const named = problemsOf({ ...base, GATEWAYS: "telegram" });
    expect(named.some((p) => p.startsWith("TELEGRAM_BOT_TOKEN"))).to.equal(true);
  });

  it("should refuse short secrets, plain-http API bases and public keys in production", async () => {
    const { publicJwk } = await createTestKeys();
    const problems = problemsOf({
      NODE_ENV: "production",
      JWT_PRIVATE_JWK: JSON.stringify(publicJwk),
      WHATSAPP_APP_SECRET: "short",
      WHATSAPP_VERIFY_TOKEN: "b".repeat(32),
      WHATSAPP_ACCESS_TOKEN: "c".repeat(64),
      WHATSAPP_PHONE_NUMBER_ID: "106540352242922",
      WHATSAPP_API_BASE_URL: "http://graph.example",
    });
    expect(problems).to.include("JWT_PRIVATE_JWK must be a private JWK with alg EdDSA or ES256");
    expect(problems).to.include("WHATSAPP_APP_SECRET is too short (at least 16 characters)");
    expect(problems).to.include("WHATSAPP_API_BASE_URL must be https:// in production");
  });

  it("should name unknown gateways, bad origins, a bad core address and a bad rate", () => {
    const problems = problemsOf({
      GATEWAYS: "whatsapp,fax",
      CORS_ORIGINS: "https://ok.example,*",
      CORE_URL: "http://core:8080/x",
      RATE_LIMIT_PER_IP: "lots",
    });
    for (const name of ["GATEWAYS", "CORS_ORIGINS", "CORE_URL", "RATE_LIMIT_PER_IP"]) {
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).to.equal(true);
    }
  });
});
