import { expect } from "chai";
import { loadGatewayConfig } from "../../gateways/config.js";
import { readTelegramConfig, WEBHOOK_SECRET_PATTERN } from "../../gateways/telegram/config.js";
import { verifySecretToken } from "../../gateways/telegram/verify.js";
import { deriveDevSecret } from "../../lib/dev-secrets.js";
import { ConfigError } from "../../lib/env.js";

const SECRET = "s3cr3t-Token_for-the-webhook-0123456789";
const TOKEN = "7000000001:AAH-real-looking_bot-token-0123456789abc";

describe("verifySecretToken (channels.md §3.5)", () => {
  it("should accept the configured secret token", () => {
    expect(verifySecretToken(SECRET, SECRET)).to.equal(true);
  });

  it("should refuse a missing or empty header", () => {
    expect(verifySecretToken(undefined, SECRET)).to.equal(false);
    expect(verifySecretToken("", SECRET)).to.equal(false);
  });

  it("should refuse a wrong value of the same length, one differing only in case, a prefix and an extension", () => {
    const sameLength = `${SECRET.slice(0, -1)}${SECRET.endsWith("9") ? "8" : "9"}`;
    expect(sameLength).to.have.length(SECRET.length);
    for (const wrong of [sameLength, SECRET.toUpperCase(), SECRET.slice(0, -1), `${SECRET}0`]) {
      expect(verifySecretToken(wrong, SECRET), wrong).to.equal(false);
    }
  });

  it("should refuse values outside the secret_token alphabet and fail closed on an empty secret", () => {
    expect(verifySecretToken(` ${SECRET}`, SECRET)).to.equal(false);
    expect(verifySecretToken(`${SECRET}\n`, SECRET)).to.equal(false);
    expect(verifySecretToken("", "")).to.equal(false);
    expect(verifySecretToken("anything", "")).to.equal(false);
  });
});

function problemsOf(env: Record<string, string>, production = true): string[] {
  const problems: string[] = [];
  readTelegramConfig(
    { NODE_ENV: production ? "production" : "development", ...env },
    {
      production,
      enabled: true,
    },
    problems,
  );
  return problems;
}

describe("readTelegramConfig", () => {
  it("should take production settings and default the API base to Telegram's", () => {
    const problems: string[] = [];
    const config = readTelegramConfig(
      { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_SECRET: SECRET },
      { production: true, enabled: true },
      problems,
    );
    expect(problems).to.deep.equal([]);
    expect(config).to.deep.equal({
      botToken: TOKEN,
      webhookSecret: SECRET,
      apiBaseUrl: "https://api.telegram.org",
    });
  });

  it("should require the token and the secret in production, naming each once", () => {
    expect(problemsOf({})).to.deep.equal([
      "TELEGRAM_BOT_TOKEN is required in production",
      "TELEGRAM_WEBHOOK_SECRET is required in production",
    ]);
  });

  it("should refuse a malformed token without echoing it, a weak secret and a plain-http base", () => {
    const problems = problemsOf({
      TELEGRAM_BOT_TOKEN: "not-a-token-but-a-credential",
      TELEGRAM_WEBHOOK_SECRET: "short_secret",
      TELEGRAM_API_BASE_URL: "http://api.telegram.example",
    });
    expect(problems).to.deep.equal([
      "TELEGRAM_API_BASE_URL must be https:// in production",
      "TELEGRAM_BOT_TOKEN must look like <bot id>:<token>, as BotFather issues it",
      "TELEGRAM_WEBHOOK_SECRET is too short (at least 32 characters)",
    ]);
    expect(problems.join("\n")).not.to.include("not-a-token");
  });

  it("should refuse a secret Telegram would not accept as secret_token", () => {
    expect(
      problemsOf({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_SECRET: `${"a".repeat(40)}!` }),
    ).to.deep.equal(["TELEGRAM_WEBHOOK_SECRET must be 1-256 of A-Z, a-z, 0-9, _ and -"]);
  });

  it("should ask nothing of a disabled channel", () => {
    const problems: string[] = [];
    readTelegramConfig({}, { production: true, enabled: false }, problems);
    expect(problems).to.deep.equal([]);
  });

  it("should derive development secrets Telegram would accept, stable for one salt", () => {
    const dev = { privateJwk: {}, publicJwk: {}, userIdSalt: "ab".repeat(32) };
    const read = () => {
      const problems: string[] = [];
      const config = readTelegramConfig({}, { production: false, dev, enabled: true }, problems);
      expect(problems).to.deep.equal([]);
      return config;
    };
    const config = read();
    expect(config.webhookSecret).to.match(WEBHOOK_SECRET_PATTERN);
    expect(config.webhookSecret).to.equal(deriveDevSecret(dev, "TELEGRAM_WEBHOOK_SECRET"));
    expect(config.botToken).to.match(/^[0-9]+:[A-Za-z0-9_-]{20,}$/);
    expect(read()).to.deep.equal(config);
    expect(config.apiBaseUrl).to.equal("http://127.0.0.1:3999");
  });

  it("should turn Telegram on in the gateway config when GATEWAYS names it", () => {
    const config = loadGatewayConfig({
      GATEWAYS: "telegram",
      JWT_PRIVATE_JWK: JSON.stringify({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", d: "x", x: "y" }),
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      TELEGRAM_API_BASE_URL: "http://127.0.0.1:9/",
    });
    expect(config.gateways).to.deep.equal(["telegram"]);
    expect(config.telegram).to.deep.equal({
      botToken: TOKEN,
      webhookSecret: SECRET,
      apiBaseUrl: "http://127.0.0.1:9",
    });
    expect(() => loadGatewayConfig({ GATEWAYS: "telegram" })).to.throw(ConfigError, /TELEGRAM_BOT_TOKEN/);
  });
});
