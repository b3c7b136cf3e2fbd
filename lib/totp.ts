import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * HOTP (RFC 4226) and TOTP (RFC 6238) for customers who enrol an authenticator app, with the
 * Base32 secret encoding and `otpauth://` URI those apps read. Pure apart from `newTotpSecret`.
 *
 * Verification policy (security.md §6, "Tension to decide explicitly"): the code of the current
 * step T is accepted, and of one step either side (T−1, T+1), never further; a step at or before
 * the last accepted one is refused. Why one step both ways: RFC 6238 §5.2 allows one step of
 * tolerance, NIST 63B §5.1.4.2 sizes a TOTP's life to clock drift "in either direction" plus
 * network delay and entry time (phones run ahead as often as behind), and security.md's test
 * table asks for "T+1 step ok, T+2 rejected". ASVS 5 6.5.5 asks for 30 s; we do not meet that
 * literally (a code verifies while the server is within one step of it, at most 90 s) and rely
 * instead on what the 30 s guards against, replay: each step is accepted once, ever, per
 * customer (RFC 6238 §5.2, NIST 63B §5.1.4.2, ASVS 5 6.5.1), and server time is the trusted
 * source (ASVS 5 6.5.8). The caller stores the accepted step atomically (core/domain/totp.ts).
 */

/** HMAC hash functions RFC 6238 §1.2 allows. */
export type OtpAlgorithm = "sha1" | "sha256" | "sha512";

/** Settings shared by TOTP generation and verification. */
export interface TotpOptions {
  /** Time step X in seconds (RFC 6238 §4.1); 30 by default. */
  readonly stepSeconds?: number;
  /** Code length, 6–8 (RFC 4226 §5.3); 6 by default. */
  readonly digits?: number;
  /** HMAC hash; SHA-1 by default, which is what authenticator apps expect. */
  readonly algorithm?: OtpAlgorithm;
}

/** Settings of `verifyTotp`. */
export interface VerifyTotpOptions extends TotpOptions {
  /** Steps accepted on EACH side of the current one: 0 or 1 (default 1, RFC 6238 §5.2). */
  readonly window?: number;
  /** The step of the last accepted code; it and every earlier step are refused (no reuse). */
  readonly lastUsedStep?: bigint;
}

/**
 * Outcome of `verifyTotp`: on success, the step to store as the new `lastUsedStep`; on failure,
 * `reused` when the code is right but its step was already used (ASVS 4 2.8.5 logs those).
 */
export type TotpVerification = { ok: true; step: bigint } | { ok: false; reused?: true };

/** Shortest shared secret RFC 4226 §4 R6 allows: 128 bits. */
const MIN_SECRET_BYTES = 16;
const MAX_COUNTER = (1n << 64n) - 1n;
const BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/**
 * Computes an RFC 4226 HOTP value: HMAC over the 8-byte big-endian counter, then dynamic
 * truncation (§5.3) to a 31-bit number shown as `digits` decimal digits. The counter is a
 * bigint so TOTP steps beyond 2^32 (RFC 6238 §4.2, after 2038 and far beyond) are exact.
 */
export function hotp(
  secret: Uint8Array,
  counter: bigint,
  digits = 6,
  algorithm: OtpAlgorithm = "sha1",
): string {
  assertSecret(secret);
  assertDigits(digits);
  if (counter < 0n || counter > MAX_COUNTER)
    throw new RangeError("HOTP counter must fit in 64 unsigned bits");
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(counter);
  const mac = createHmac(algorithm, secret).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const binary = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(binary % 10 ** digits).padStart(digits, "0");
}

/**
 * The RFC 6238 §4 time step for a moment: T = floor((unixTime − T0) / X) with T0 = 0.
 * Exposed so callers can store or compare steps (`lastUsedStep`).
 */
export function totpStep(timeMs: number, stepSeconds = 30): bigint {
  assertStepSeconds(stepSeconds);
  if (!Number.isFinite(timeMs) || timeMs < 0) throw new RangeError("TOTP time must be at or after the epoch");
  return BigInt(Math.floor(timeMs / 1000)) / BigInt(stepSeconds);
}

/** Computes the RFC 6238 TOTP code for `timeMs` (milliseconds since the Unix epoch). */
export function totp(secret: Uint8Array, timeMs: number, options: TotpOptions = {}): string {
  const { stepSeconds = 30, digits = 6, algorithm = "sha1" } = options;
  return hotp(secret, totpStep(timeMs, stepSeconds), digits, algorithm);
}

/**
 * Verifies a TOTP code under the policy in this file's header: steps current − window to
 * current + window, none at or before `lastUsedStep`. Every candidate is computed and compared in
 * constant time, so timing does not tell which step matched. When the digits match several steps
 * (a 10^-6 coincidence) the newest is the one reported, so storing it refuses the same digits for
 * the rest of the window. A code of the wrong shape is refused, not thrown on.
 */
export function verifyTotp(
  secret: Uint8Array,
  code: string,
  timeMs: number,
  options: VerifyTotpOptions = {},
): TotpVerification {
  const { stepSeconds = 30, digits = 6, algorithm = "sha1", window = 1, lastUsedStep } = options;
  if (window !== 0 && window !== 1) throw new RangeError("TOTP window must be 0 or 1 (RFC 6238 §5.2)");
  assertDigits(digits);
  if (typeof code !== "string" || !new RegExp(`^[0-9]{${digits}}$`).test(code)) return { ok: false };
  const current = totpStep(timeMs, stepSeconds);
  let matched: bigint | undefined;
  for (let step = current + BigInt(window); step >= current - BigInt(window); step -= 1n) {
    if (step < 0n) continue;
    const equal = safeEqual(hotp(secret, step, digits, algorithm), code);
    if (equal && matched === undefined) matched = step;
  }
  if (matched === undefined) return { ok: false };
  if (lastUsedStep !== undefined && matched <= lastUsedStep) return { ok: false, reused: true };
  return { ok: true, step: matched };
}

/**
 * Creates a new TOTP shared secret: 20 bytes (160 bits) from the CSPRNG, the length
 * RFC 4226 §4 R6 recommends and the SHA-1 block most authenticator apps expect.
 */
export function newTotpSecret(): Buffer {
  return randomBytes(20);
}

/** Encodes bytes as RFC 4648 §6 Base32 without padding, the form authenticator apps take. */
export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(buffer >> bits) & 0x1f];
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 0x1f];
  return out;
}

/**
 * Decodes RFC 4648 §6 Base32. Case-insensitive, trailing `=` padding tolerated; throws a
 * RangeError on any other character, an impossible length or non-zero leftover bits, so one
 * secret has exactly one accepted spelling.
 */
export function base32Decode(text: string): Buffer {
  const body = text.replace(/=+$/, "").toUpperCase();
  if ([1, 3, 6].includes(body.length % 8)) throw new RangeError("Base32 text has an impossible length");
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of body) {
    const value = BASE32_ALPHABET.indexOf(char);
    if (value < 0) throw new RangeError("Base32 text contains a character outside RFC 4648 §6");
    buffer = ((buffer << 5) | value) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  if ((buffer & ((1 << bits) - 1)) !== 0) throw new RangeError("Base32 text has non-zero padding bits");
  return Buffer.from(out);
}

/** What an `otpauth://` enrolment URI carries. */
export interface OtpauthUriOptions {
  readonly secret: Uint8Array;
  /** The bank's name shown by the app; must not contain ":". */
  readonly issuer: string;
  /** The customer's label in the app (never a full phone number or account number). */
  readonly account: string;
  readonly digits?: number;
  readonly period?: number;
  readonly algorithm?: OtpAlgorithm;
}

/**
 * Builds the Key URI authenticator apps scan from a QR code:
 * `otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
 * Label and values are percent-encoded (spaces as %20, not "+"), and the issuer is repeated
 * as a parameter as the Key URI format recommends.
 */
export function otpauthUri(options: OtpauthUriOptions): string {
  const { secret, issuer, account, digits = 6, period = 30, algorithm = "sha1" } = options;
  assertSecret(secret);
  assertDigits(digits);
  assertStepSeconds(period);
  if (issuer.length === 0 || issuer.includes(":"))
    throw new RangeError("issuer must be non-empty without ':'");
  if (account.length === 0) throw new RangeError("account must be non-empty");
  const label = `${encodeURIComponent(issuer)}:${encodeURIComponent(account)}`;
  const query = [
    `secret=${base32Encode(secret)}`,
    `issuer=${encodeURIComponent(issuer)}`,
    `algorithm=${algorithm.toUpperCase()}`,
    `digits=${digits}`,
    `period=${period}`,
  ].join("&");
  return `otpauth://totp/${label}?${query}`;
}

function assertSecret(secret: Uint8Array): void {
  if (secret.length < MIN_SECRET_BYTES)
    throw new RangeError("OTP secret must be at least 128 bits (RFC 4226 R6)");
}

function assertDigits(digits: number): void {
  if (!Number.isInteger(digits) || digits < 6 || digits > 8) {
    throw new RangeError("OTP digits must be 6, 7 or 8 (RFC 4226 §5.3)");
  }
}

function assertStepSeconds(stepSeconds: number): void {
  if (!Number.isSafeInteger(stepSeconds) || stepSeconds <= 0) {
    throw new RangeError("TOTP step must be a positive whole number of seconds");
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
