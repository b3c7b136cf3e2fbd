import { parseDuration, parseRate, type Rate } from "../lib/duration.js";
import { type Env, readVar } from "../lib/env.js";
import type { TransferRules } from "./domain/transfer-rules.js";

/**
 * The documented defaults of the transfer rules (issue 5 item 3; .env.example), in minor units of
 * the debited account's currency: 5,000.00 per transfer and 10,000.00 per 24 h in a two-digit
 * currency, 10 transfers an hour, a payee saved less than 24 h ago held above 250.00, and an amount
 * above max(100.00, 10 × the customer's median) held once there are 3 earlier transfers. The
 * cooling-off amount sits at PSD2's middle TRA band, EUR 250 (security.md P-10).
 */
export const DEFAULT_TRANSFER_RULES: TransferRules = Object.freeze({
  perTransferLimit: 500_000n,
  dailyLimit: 1_000_000n,
  velocity: Object.freeze({ points: 10, durationMs: 3_600_000 }),
  payeeCoolingOffMs: 24 * 3_600_000,
  payeeCoolingOffAmount: 25_000n,
  unusualAmountFactor: 10n,
  unusualAmountMin: 10_000n,
});

/**
 * Reads TRANSFER_LIMIT_PER_TRANSFER, TRANSFER_LIMIT_PER_DAY, TRANSFER_VELOCITY, PAYEE_COOLING_OFF,
 * PAYEE_COOLING_OFF_AMOUNT, UNUSUAL_AMOUNT_FACTOR and UNUSUAL_AMOUNT_MIN. Each malformed value is
 * one problem line naming its variable, and its default stands in so the other checks still run.
 */
export function readTransferRulesConfig(env: Env, problems: string[]): TransferRules {
  const d = DEFAULT_TRANSFER_RULES;
  return Object.freeze({
    perTransferLimit: readAmount(env, "TRANSFER_LIMIT_PER_TRANSFER", d.perTransferLimit, problems),
    dailyLimit: readAmount(env, "TRANSFER_LIMIT_PER_DAY", d.dailyLimit, problems),
    velocity: readRate(env, "TRANSFER_VELOCITY", "10/1h", problems),
    payeeCoolingOffMs: readDuration(env, "PAYEE_COOLING_OFF", "24h", problems),
    payeeCoolingOffAmount: readAmount(env, "PAYEE_COOLING_OFF_AMOUNT", d.payeeCoolingOffAmount, problems),
    unusualAmountFactor: readAmount(env, "UNUSUAL_AMOUNT_FACTOR", d.unusualAmountFactor, problems),
    unusualAmountMin: readAmount(env, "UNUSUAL_AMOUNT_MIN", d.unusualAmountMin, problems),
  });
}

/** A positive whole number of at most 15 digits: below 2^53, so it stays exact in JSON too. */
function readAmount(env: Env, name: string, fallback: bigint, problems: string[]): bigint {
  const raw = readVar(env, name, problems);
  if (raw === undefined) return fallback;
  if (!/^\d{1,15}$/.test(raw) || BigInt(raw) < 1n) {
    problems.push(`${name} must be a positive whole number (minor units), got "${raw}"`);
    return fallback;
  }
  return BigInt(raw);
}

function readDuration(env: Env, name: string, fallback: string, problems: string[]): number {
  const raw = readVar(env, name, problems) ?? fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) problems.push(`${name} must be a duration such as 30m, 24h or 7d, got "${raw}"`);
  return ms ?? (parseDuration(fallback) as number);
}

function readRate(env: Env, name: string, fallback: string, problems: string[]): Rate {
  const raw = readVar(env, name, problems) ?? fallback;
  const rate = parseRate(raw);
  if (rate === undefined) problems.push(`${name} must be a rate such as 10/1h, got "${raw}"`);
  return Object.freeze(rate ?? (parseRate(fallback) as Rate));
}
