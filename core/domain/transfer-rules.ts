import type { Rate } from "../../lib/duration.js";
import { formatMoney, type Money } from "../../lib/money.js";

/**
 * The transfer limits and fraud rules of DESIGN.md, Banking (issue 5 item 3), as the operator set
 * them (core/transfer-rules-config.ts). Amounts are minor units of the debited account's currency,
 * so one set of numbers means 5,000.00 EUR and 500,000 JPY alike; a bank with very different
 * currencies runs one deployment per market or picks numbers for the smallest unit.
 */
export interface TransferRules {
  /** Largest single transfer (TRANSFER_LIMIT_PER_TRANSFER); a larger one is refused. */
  readonly perTransferLimit: bigint;
  /** Posted transfers of the trailing 24 h plus this one may not exceed it (TRANSFER_LIMIT_PER_DAY). */
  readonly dailyLimit: bigint;
  /** Transfers, posted or held, per window per customer (TRANSFER_VELOCITY); one more is refused. */
  readonly velocity: Rate;
  /** How long a saved payee counts as new (PAYEE_COOLING_OFF), milliseconds. */
  readonly payeeCoolingOffMs: number;
  /** Above this, a transfer to a new payee is held (PAYEE_COOLING_OFF_AMOUNT). */
  readonly payeeCoolingOffAmount: bigint;
  /** How many times the customer's median transfer is unusual (UNUSUAL_AMOUNT_FACTOR). */
  readonly unusualAmountFactor: bigint;
  /** No amount up to this is unusual (UNUSUAL_AMOUNT_MIN). */
  readonly unusualAmountMin: bigint;
}

/** The stable name of each rule: the `rule` of ErrorInfo metadata and of audit events, never shown to customers. */
export type TransferRuleId =
  | "per_transfer_limit"
  | "daily_limit"
  | "velocity"
  | "payee_cooling_off"
  | "unusual_amount";

/** The window of the daily limit: trailing, not a calendar day, so midnight opens no second allowance. */
export const DAILY_WINDOW_MS = 24 * 3_600_000;
/** How many of the customer's latest posted transfers the median of the unusual-amount rule looks at. */
export const USUAL_AMOUNT_HISTORY = 20;
/** Fewer earlier posted transfers than this and nothing is unusual yet: there is no habit to compare. */
export const USUAL_AMOUNT_MIN_HISTORY = 3;

/** The transfer being decided on. */
export interface RuleRequest {
  readonly amount: Money;
  /**
   * When the payee's account is one of the customer's saved beneficiaries: when it was saved,
   * epoch ms. Absent for an account the customer never saved.
   */
  readonly beneficiarySavedAt?: number;
  /** Epoch ms of the decision. */
  readonly now: number;
}

/** What the customer did recently, read under the lock that serialises their transfers. */
export interface CustomerActivity {
  /** Sum of their posted transfers in the amount's currency, debited from any of their accounts in the last 24 h. */
  readonly daySum: bigint;
  /** Their transfers, posted or held, in the velocity window. */
  readonly windowCount: number;
  /** Amounts of their latest posted transfers in the amount's currency, at most USUAL_AMOUNT_HISTORY. */
  readonly recentAmounts: readonly bigint[];
}

/** The decision on a transfer: post it, refuse it, or record it as held with no money moved. */
export type RuleDecision =
  | { readonly action: "allow" }
  | { readonly action: "refuse" | "hold"; readonly rule: TransferRuleId; readonly reason: string };

/** The windows a store reads CustomerActivity over, for a decision at `now`. */
export function activityWindows(rules: TransferRules, now: number) {
  return {
    dayStart: now - DAILY_WINDOW_MS,
    velocityStart: now - rules.velocity.durationMs,
    history: USUAL_AMOUNT_HISTORY,
  };
}

/**
 * Decides a transfer. Refusals come before holds, so a transfer that breaks a limit is never
 * parked for review; within each kind the first rule that applies gives the reason. Reasons are
 * sentences for the customer, with amounts formatted in the transfer's currency.
 */
export function evaluateTransferRules(
  rules: TransferRules,
  request: RuleRequest,
  activity: CustomerActivity,
): RuleDecision {
  const { amount } = request;
  const money = (minorUnits: bigint) => formatMoney({ currency: amount.currency, minorUnits });
  if (amount.minorUnits > rules.perTransferLimit) {
    const reason = `This transfer is above the limit of ${money(rules.perTransferLimit)} per transfer.`;
    return { action: "refuse", rule: "per_transfer_limit", reason };
  }
  if (activity.daySum + amount.minorUnits > rules.dailyLimit) {
    return { action: "refuse", rule: "daily_limit", reason: dailyReason(rules, activity, money) };
  }
  if (activity.windowCount >= rules.velocity.points) {
    const reason =
      `You have reached the limit of ${rules.velocity.points} transfers in ` +
      `${describeDuration(rules.velocity.durationMs)}. Please try again later.`;
    return { action: "refuse", rule: "velocity", reason };
  }
  if (isNewPayee(rules, request) && amount.minorUnits > rules.payeeCoolingOffAmount) {
    const reason =
      `This payee was added less than ${describeDuration(rules.payeeCoolingOffMs)} ago, so a ` +
      `transfer above ${money(rules.payeeCoolingOffAmount)} to them is held for review.`;
    return { action: "hold", rule: "payee_cooling_off", reason };
  }
  if (isUnusual(rules, amount.minorUnits, activity.recentAmounts)) {
    const reason = "This transfer is much larger than your usual transfers, so it is held for review.";
    return { action: "hold", rule: "unusual_amount", reason };
  }
  return { action: "allow" };
}

function dailyReason(
  rules: TransferRules,
  activity: CustomerActivity,
  money: (minorUnits: bigint) => string,
): string {
  const limit = `This transfer is above your daily limit of ${money(rules.dailyLimit)}.`;
  const left = rules.dailyLimit - activity.daySum;
  return left > 0n ? `${limit} You can send up to ${money(left)} more for now.` : limit;
}

function isNewPayee(rules: TransferRules, request: RuleRequest): boolean {
  const saved = request.beneficiarySavedAt;
  return saved !== undefined && request.now - saved < rules.payeeCoolingOffMs;
}

/**
 * True when `amount` is above max(min, factor × median of `recent`), given enough history. The
 * median of an even count is the mean of the middle two; comparing doubled values keeps it exact.
 */
function isUnusual(rules: TransferRules, amount: bigint, recent: readonly bigint[]): boolean {
  if (recent.length < USUAL_AMOUNT_MIN_HISTORY || amount <= rules.unusualAmountMin) return false;
  const sorted = [...recent].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const mid = sorted.length >> 1;
  const upper = sorted[mid] as bigint;
  const twiceMedian = sorted.length % 2 === 1 ? 2n * upper : (sorted[mid - 1] as bigint) + upper;
  return 2n * amount > rules.unusualAmountFactor * twiceMedian;
}

const UNITS: readonly [number, string][] = [
  [86_400_000, "day"],
  [3_600_000, "hour"],
  [60_000, "minute"],
  [1000, "second"],
];

/**
 * A duration as a customer reads it: "1 hour", "15 minutes", "24 hours", "7 days". Whole days
 * only from two days up, so the default cooling-off reads "24 hours" as configured.
 */
export function describeDuration(ms: number): string {
  for (const [size, name] of UNITS) {
    if (ms % size !== 0 || (name === "day" && ms < 2 * size)) continue;
    const count = ms / size;
    return `${count} ${name}${count === 1 ? "" : "s"}`;
  }
  return `${ms} millisecond${ms === 1 ? "" : "s"}`;
}
