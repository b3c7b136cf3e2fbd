import { expect } from "chai";
import { loadGatewayConfig } from "../../gateways/config.js";
import { deriveDevSecret } from "../../lib/dev-secrets.js";
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

describe("loadGatewayConfig: Messenger and Instagram", () => {
  let jwk: string;
  before(async () => {
    jwk = JSON.stringify((await createTestKeys()).privateJwk);
  });

  it("should read each channel's own secrets, token, API base and version", () => {
    const config = loadGatewayConfig({
      NODE_ENV: "production",
      TLS_TERMINATED_BY_PROXY: "true",
      GATEWAYS: "messenger,instagram",
      JWT_PRIVATE_JWK: jwk,
      MESSENGER_APP_SECRET: "m".repeat(32),
      MESSENGER_VERIFY_TOKEN: "v".repeat(32),
      MESSENGER_PAGE_ACCESS_TOKEN: "EAAG".repeat(20),
      INSTAGRAM_APP_SECRET: "i".repeat(32),
      INSTAGRAM_VERIFY_TOKEN: "w".repeat(32),
      INSTAGRAM_PAGE_ACCESS_TOKEN: "IGAA".repeat(20),
      INSTAGRAM_API_VERSION: "v22.0",
    });
    expect(config.gateways).to.deep.equal(["messenger", "instagram"]);
    expect(config.messenger).to.deep.equal({
      appSecret: "m".repeat(32),
      verifyToken: "v".repeat(32),
      pageAccessToken: "EAAG".repeat(20),
      apiBaseUrl: "https://graph.facebook.com",
      apiVersion: "v21.0",
    });
    expect(config.instagram).to.include({ appSecret: "i".repeat(32), apiVersion: "v22.0" });
  });

  it("should refuse production without a channel's secrets, naming each, only when the channel is on", () => {
    const problems = problemsOf({ NODE_ENV: "production", GATEWAYS: "instagram", JWT_PRIVATE_JWK: jwk });
    expect(problems).to.include.members([
      "INSTAGRAM_APP_SECRET is required in production",
      "INSTAGRAM_VERIFY_TOKEN is required in production",
      "INSTAGRAM_PAGE_ACCESS_TOKEN is required in production",
    ]);
    expect(problems.filter((p) => p.startsWith("MESSENGER_"))).to.deep.equal([]);
  });

  it("should refuse short secrets, a plain-http API base and a malformed version in production", () => {
    const problems = problemsOf({
      NODE_ENV: "production",
      GATEWAYS: "messenger",
      JWT_PRIVATE_JWK: jwk,
      MESSENGER_APP_SECRET: "short",
      MESSENGER_VERIFY_TOKEN: "v".repeat(32),
      MESSENGER_PAGE_ACCESS_TOKEN: "EAAG".repeat(20),
      MESSENGER_API_BASE_URL: "http://graph.example",
      MESSENGER_API_VERSION: "21",
    });
    expect(problems).to.include.members([
      "MESSENGER_APP_SECRET is too short (at least 16 characters)",
      "MESSENGER_API_BASE_URL must be https:// in production",
      "MESSENGER_API_VERSION must look like v21.0",
    ]);
  });

  it("should derive distinct development secrets for the two channels", async () => {
    const keys = await createTestKeys();
    const dev = { privateJwk: keys.privateJwk, publicJwk: keys.publicJwk, userIdSalt: "a".repeat(64) };
    const config = loadGatewayConfig({ GATEWAYS: "messenger,instagram" }, dev);
    expect(config.messenger.appSecret).to.equal(deriveDevSecret(dev, "MESSENGER_APP_SECRET"));
    expect(config.instagram.appSecret).to.equal(deriveDevSecret(dev, "INSTAGRAM_APP_SECRET"));
    expect(config.messenger.appSecret).not.to.equal(config.instagram.appSecret);
    expect(config.messenger.apiBaseUrl).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
