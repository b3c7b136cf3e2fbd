import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { loadCoreConfig } from "../../core/config.js";
import { ConfigError } from "../../lib/env.js";
import { createTestKeys } from "../support/core.js";

const STRONG_SALT = "f3b9c1d27e8a4605b1c9d2e7f0a3b4c5d6e7f8091a2b3c4d";

/** The step-up and SMS secrets production also requires (issue 5). */
async function stepUpEnv(): Promise<Record<string, string>> {
  const { privateJwk } = await createTestKeys("step-up");
  return {
    STEP_UP_OTP_KEY: Buffer.alloc(32, 7).toString("base64"),
    STEP_UP_PRIVATE_JWK: JSON.stringify(privateJwk),
    TWILIO_ACCOUNT_SID: `AC${"0f".repeat(16)}`,
    TWILIO_AUTH_TOKEN: "twilio-token",
    TWILIO_SMS_FROM: "+15005550006",
    ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
    AUDIT_CHECKPOINT_JWK: JSON.stringify((await createTestKeys("audit")).privateJwk),
  };
}

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadCoreConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe("loadCoreConfig", () => {
  it("should refuse production without a salt or keys, one problem per line", () => {
    const problems = problemsOf({ NODE_ENV: "production" });
    for (const name of [
      "USER_ID_SALT",
      "JWKS",
      "STEP_UP_OTP_KEY",
      "STEP_UP_PRIVATE_JWK",
      "TWILIO_ACCOUNT_SID",
      "ENCRYPTION_KEYS",
    ]) {
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).to.equal(true);
    }
  });

  it("should refuse a weak salt in production", async () => {
    const { publicJwk } = await createTestKeys();
    const jwks = JSON.stringify({ keys: [publicJwk] });
    for (const salt of ["changeme", "a".repeat(40), "short-but-random-Xy7"]) {
      const problems = problemsOf({
        NODE_ENV: "production",
        TLS_TERMINATED_BY_PROXY: "true",
        USER_ID_SALT: salt,
        JWKS: jwks,
        ...(await stepUpEnv()),
      });
      expect(problems, salt).to.have.length(1);
      expect(problems[0]).to.match(/^USER_ID_SALT is too weak/);
    }
  });

  it("should accept strong production secrets and apply documented defaults", async () => {
    const { publicJwk } = await createTestKeys();
    const config = loadCoreConfig({
      NODE_ENV: "production",
      TLS_TERMINATED_BY_PROXY: "true",
      USER_ID_SALT: STRONG_SALT,
      JWKS: JSON.stringify({ keys: [publicJwk] }),
      ...(await stepUpEnv()),
    });
    expect(config.stepUp.lockout).to.deep.equal({ points: 5, durationMs: 15 * 60_000 });
    expect(config.twilio?.apiBaseUrl).to.equal("https://api.twilio.com");
    expect(config).to.include({ corePort: 8080, connectPort: 8081, adminPort: 9090, maxSessions: 10_000 });
    expect(config).to.include({ maxBodyBytes: 1_048_576, maxTextChars: 4096, callTimeoutMs: 10_000 });
    expect(config.sessionTtlMs).to.equal(24 * 3_600_000);
    expect(config.ratePerSubject).to.deep.equal({ points: 10, durationMs: 60_000 });
    expect(config.data.encryption.primaryKid).to.equal("k1");
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it("should refuse a malformed ENCRYPTION_KEYS without echoing the key", () => {
    const problems = problemsOf({ ENCRYPTION_KEYS: "k1:c2hvcnQ=" }).filter((p) => p.includes("ENCRYPTION"));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^ENCRYPTION_KEYS/);
    expect(problems[0]).not.to.include("c2hvcnQ");
  });

  it("should derive a stable development encryption key from the salt", async () => {
    const { publicJwk } = await createTestKeys();
    const env = { USER_ID_SALT: STRONG_SALT, JWKS: JSON.stringify({ keys: [publicJwk] }) };
    const [a, b] = [loadCoreConfig(env), loadCoreConfig(env)];
    expect(a.data.encryption.primaryKid).to.equal("dev");
    expect(a.data.encryption.keys.get("dev")).to.deep.equal(b.data.encryption.keys.get("dev"));
  });

  it("should refuse a JWKS holding a private key or a key without an allowed alg", async () => {
    const { privateJwk, publicJwk } = await createTestKeys();
    const base = { NODE_ENV: "production", USER_ID_SALT: STRONG_SALT };
    expect(problemsOf({ ...base, JWKS: JSON.stringify({ keys: [privateJwk] }) })).to.include(
      "JWKS must hold public keys only",
    );
    const hs = { ...publicJwk, alg: "HS256" };
    expect(problemsOf({ ...base, JWKS: JSON.stringify({ keys: [hs] }) })).to.include(
      "JWKS keys must each name alg EdDSA or ES256",
    );
  });

  it("should read secrets from *_FILE variants and refuse both forms at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "teller-config-"));
    const { publicJwk } = await createTestKeys();
    writeFileSync(join(dir, "salt"), `${STRONG_SALT}\n`);
    writeFileSync(join(dir, "jwks"), JSON.stringify({ keys: [publicJwk] }));
    const env = {
      NODE_ENV: "production",
      TLS_TERMINATED_BY_PROXY: "true",
      USER_ID_SALT_FILE: join(dir, "salt"),
      JWKS_FILE: join(dir, "jwks"),
      ...(await stepUpEnv()),
    };
    expect(loadCoreConfig(env).userIdSalt).to.equal(STRONG_SALT);
    expect(problemsOf({ ...env, USER_ID_SALT: STRONG_SALT })).to.include(
      "USER_ID_SALT and USER_ID_SALT_FILE are both set; set only one",
    );
  });

  it("should name every malformed limit, port and URL without echoing secrets", () => {
    const problems = problemsOf({
      CORE_PORT: "70000",
      MAX_SESSIONS: "lots",
      SESSION_TTL: "1 day",
      RATE_LIMIT_PER_SUBJECT: "10 per minute",
      MAX_TEXT_CHARS: "5000",
      DATABASE_URL: "mysql://user:hunter2@db/x",
      LOG_LEVEL: "loud",
    });
    for (const name of [
      "CORE_PORT",
      "MAX_SESSIONS",
      "SESSION_TTL",
      "RATE_LIMIT_PER_SUBJECT",
      "MAX_TEXT_CHARS",
    ]) {
      expect(
        problems.some((p) => p.startsWith(name)),
        name,
      ).to.equal(true);
    }
    expect(problems.some((p) => p.startsWith("DATABASE_URL"))).to.equal(true);
    expect(problems.join("\n")).not.to.include("hunter2");
  });

  it("should refuse a short step-up code key and a public step-up key", async () => {
    const { publicJwk } = await createTestKeys();
    const problems = problemsOf({
      STEP_UP_OTP_KEY: Buffer.alloc(31, 1).toString("base64"),
      STEP_UP_PRIVATE_JWK: JSON.stringify(publicJwk),
    });
    expect(problems.some((p) => p.startsWith("STEP_UP_OTP_KEY must be at least 32"))).to.equal(true);
    expect(problems.some((p) => p.startsWith("STEP_UP_PRIVATE_JWK must be a private JWK"))).to.equal(true);
  });

  it("should derive stable step-up keys in development", async () => {
    const { publicJwk } = await createTestKeys();
    const env = { USER_ID_SALT: STRONG_SALT, JWKS: JSON.stringify({ keys: [publicJwk] }) };
    const [a, b] = [loadCoreConfig(env).stepUp, loadCoreConfig(env).stepUp];
    expect(a.otpKey).to.have.length(32);
    expect(a.privateJwk).to.deep.equal(b.privateJwk);
    expect(a.publicJwk).to.not.have.property("d");
    expect(loadCoreConfig(env).twilio).to.equal(undefined);
  });
});
