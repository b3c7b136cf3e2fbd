import { createPublicKey, type JsonWebKey } from "node:crypto";
import type { JWK } from "jose";
import { deriveDevStepUpKeys } from "../lib/dev-secrets.js";
import { parseRate, type Rate } from "../lib/duration.js";
import { type Env, readVar } from "../lib/env.js";
import { OTP_HASH_MIN_KEY_BYTES } from "../lib/otp-code.js";

/** Step-up settings of the core (issue 5 item 1). */
export interface StepUpConfig {
  /** HMAC key of one-time codes, ≥ 32 bytes (STEP_UP_OTP_KEY, base64). */
  readonly otpKey: Uint8Array;
  /** The core's own step-up signing key (STEP_UP_PRIVATE_JWK), EdDSA or ES256. */
  readonly privateJwk: JWK;
  /** Its public half: what verifies step-up tokens. */
  readonly publicJwk: JWK;
  /** Verification attempts per customer before the lockout (RATE_LIMIT_STEP_UP, default 5/15m). */
  readonly lockout: Rate;
  /** Codes texted per customer (RATE_LIMIT_STEP_UP_SMS, default 10/1h): SMS pumping and bombing. */
  readonly smsLimit: Rate;
}

/** Twilio Messages API settings; present only when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set. */
export interface TwilioConfig {
  readonly accountSid: string;
  readonly authToken: string;
  /** TWILIO_SMS_FROM: the sending number. */
  readonly from: string;
  /** TWILIO_API_BASE_URL, default https://api.twilio.com. */
  readonly apiBaseUrl: string;
}

/**
 * Reads STEP_UP_OTP_KEY(_FILE), STEP_UP_PRIVATE_JWK(_FILE) and RATE_LIMIT_STEP_UP. Both secrets
 * are required in production; development derives them from the user id salt (lib/dev-secrets.ts).
 */
export function readStepUpConfig(
  env: Env,
  production: boolean,
  userIdSalt: string,
  problems: string[],
): StepUpConfig {
  const dev = production ? undefined : deriveDevStepUpKeys({ userIdSalt });
  const otpKey = readOtpKey(env, problems) ?? dev?.otpKey;
  const privateJwk = readPrivateJwk(env, problems) ?? dev?.privateJwk;
  if (!otpKey)
    problems.push(
      `STEP_UP_OTP_KEY is required in production (${OTP_HASH_MIN_KEY_BYTES}+ random bytes, base64)`,
    );
  if (!privateJwk)
    problems.push("STEP_UP_PRIVATE_JWK is required in production (a private JWK, alg EdDSA or ES256)");
  const raw = readVar(env, "RATE_LIMIT_STEP_UP", problems) ?? "5/15m";
  const lockout = parseRate(raw);
  if (!lockout) problems.push(`RATE_LIMIT_STEP_UP must be a rate such as 5/15m, got "${raw}"`);
  const smsRaw = readVar(env, "RATE_LIMIT_STEP_UP_SMS", problems) ?? "10/1h";
  const smsLimit = parseRate(smsRaw);
  if (!smsLimit) problems.push(`RATE_LIMIT_STEP_UP_SMS must be a rate such as 10/1h, got "${smsRaw}"`);
  return {
    smsLimit: smsLimit ?? { points: 10, durationMs: 3_600_000 },
    otpKey: otpKey ?? new Uint8Array(),
    privateJwk: privateJwk ?? {},
    publicJwk: privateJwk ? publicOf(privateJwk, problems) : {},
    lockout: lockout ?? { points: 5, durationMs: 15 * 60_000 },
  };
}

/**
 * Reads TWILIO_*: both the SID and the token, or neither. Production requires them, since the
 * development outbox never delivers a code to a phone.
 */
export function readTwilioConfig(
  env: Env,
  production: boolean,
  problems: string[],
): TwilioConfig | undefined {
  const accountSid = readVar(env, "TWILIO_ACCOUNT_SID", problems);
  const authToken = readVar(env, "TWILIO_AUTH_TOKEN", problems);
  const from = readVar(env, "TWILIO_SMS_FROM", problems);
  const apiBaseUrl = readVar(env, "TWILIO_API_BASE_URL", problems) ?? "https://api.twilio.com";
  if (!accountSid && !authToken) {
    if (production)
      problems.push("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are required in production (step-up SMS)");
    return undefined;
  }
  if (!accountSid || !authToken)
    problems.push("set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither");
  if (accountSid && !/^AC[0-9a-fA-F]{32}$/.test(accountSid))
    problems.push("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits");
  if (!from) problems.push("TWILIO_SMS_FROM is required with TWILIO_ACCOUNT_SID (the sending number)");
  if (!/^https?:\/\/[^/]/.test(apiBaseUrl) || (production && !apiBaseUrl.startsWith("https://")))
    problems.push("TWILIO_API_BASE_URL must be an http(s) URL (https in production)");
  return { accountSid: accountSid ?? "", authToken: authToken ?? "", from: from ?? "", apiBaseUrl };
}

function readOtpKey(env: Env, problems: string[]): Uint8Array | undefined {
  const raw = readVar(env, "STEP_UP_OTP_KEY", problems);
  if (raw === undefined) return undefined;
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(raw) ? Buffer.from(raw, "base64") : Buffer.alloc(0);
  if (bytes.length < OTP_HASH_MIN_KEY_BYTES) {
    problems.push(`STEP_UP_OTP_KEY must be at least ${OTP_HASH_MIN_KEY_BYTES} random bytes, base64-encoded`);
    return undefined;
  }
  return new Uint8Array(bytes);
}

function readPrivateJwk(env: Env, problems: string[]): JWK | undefined {
  const raw = readVar(env, "STEP_UP_PRIVATE_JWK", problems);
  if (raw === undefined) return undefined;
  try {
    const jwk = JSON.parse(raw) as JWK;
    if ((jwk.alg === "EdDSA" || jwk.alg === "ES256") && typeof jwk.d === "string") return jwk;
  } catch {
    // Reported below; the value itself is a secret and is never echoed.
  }
  problems.push("STEP_UP_PRIVATE_JWK must be a private JWK (with d) whose alg is EdDSA or ES256");
  return undefined;
}

function publicOf(privateJwk: JWK, problems: string[]): JWK {
  try {
    const pub = createPublicKey({ key: privateJwk as JsonWebKey, format: "jwk" });
    const { kty, crv, x, y } = pub.export({ format: "jwk" });
    return { kty, crv, x, y, kid: privateJwk.kid, alg: privateJwk.alg, use: "sig" };
  } catch {
    // Node names no secret in this failure, but the key is one: report the variable only.
    problems.push("STEP_UP_PRIVATE_JWK is not a usable key");
    return {};
  }
}
