import { expect } from "chai";
import { loadCoreConfig } from "../../core/config.js";
import {
  type CustomerActivity,
  describeDuration,
  evaluateTransferRules,
  type RuleRequest,
  type TransferRules,
} from "../../core/domain/transfer-rules.js";
import { DEFAULT_TRANSFER_RULES, readTransferRulesConfig } from "../../core/transfer-rules-config.js";
import { ConfigError } from "../../lib/env.js";

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 15, 12);
const rules: TransferRules = DEFAULT_TRANSFER_RULES;
const quiet: CustomerActivity = { daySum: 0n, windowCount: 0, recentAmounts: [] };

function request(minorUnits: bigint, extra: Partial<RuleRequest> = {}): RuleRequest {
  return { amount: { currency: "EUR", minorUnits }, now: NOW, ...extra };
}

const decide = (minorUnits: bigint, activity: Partial<CustomerActivity> = {}, extra = {}) =>
  evaluateTransferRules(rules, request(minorUnits, extra), { ...quiet, ...activity });

describe("evaluateTransferRules", () => {
  it("should allow an ordinary transfer", () => {
    expect(
      decide(2_500n, { daySum: 10_000n, windowCount: 3, recentAmounts: [2_000n, 3_000n, 2_500n] }),
    ).to.deep.equal({
      action: "allow",
    });
  });

  it("should refuse a transfer above the per-transfer limit, and allow one at it", () => {
    expect(decide(500_000n).action).to.equal("allow");
    expect(decide(500_001n)).to.deep.equal({
      action: "refuse",
      rule: "per_transfer_limit",
      reason: "This transfer is above the limit of 5,000.00 EUR per transfer.",
    });
  });

  it("should refuse a transfer that takes the last 24 hours above the daily limit, saying what is left", () => {
    expect(decide(400_000n, { daySum: 600_000n }).action).to.equal("allow");
    expect(decide(400_001n, { daySum: 600_000n })).to.deep.equal({
      action: "refuse",
      rule: "daily_limit",
      reason:
        "This transfer is above your daily limit of 10,000.00 EUR. You can send up to 4,000.00 EUR more for now.",
    });
    expect(decide(1n, { daySum: 1_000_000n })).to.deep.include({
      reason: "This transfer is above your daily limit of 10,000.00 EUR.",
    });
  });

  it("should refuse one transfer more than the velocity allows, asking to try again later", () => {
    expect(decide(100n, { windowCount: 9 }).action).to.equal("allow");
    expect(decide(100n, { windowCount: 10 })).to.deep.equal({
      action: "refuse",
      rule: "velocity",
      reason: "You have reached the limit of 10 transfers in 1 hour. Please try again later.",
    });
  });

  it("should hold a transfer above the cooling-off amount to a payee saved less than the cooling-off ago", () => {
    const fresh = { beneficiarySavedAt: NOW - 24 * HOUR + 1 };
    expect(decide(25_000n, {}, fresh).action).to.equal("allow");
    expect(decide(25_001n, {}, fresh)).to.deep.equal({
      action: "hold",
      rule: "payee_cooling_off",
      reason:
        "This payee was added less than 24 hours ago, so a transfer above 250.00 EUR to them is held for review.",
    });
    expect(decide(25_001n, {}, { beneficiarySavedAt: NOW - 24 * HOUR }).action).to.equal("allow");
    expect(decide(25_001n).action, "an account never saved").to.equal("allow");
  });

  it("should hold an amount above max(minimum, factor × median) once there are three earlier transfers", () => {
    const held = { action: "hold", rule: "unusual_amount" };
    // Two earlier transfers are no habit yet.
    expect(decide(400_000n, { recentAmounts: [100n, 100n] }).action).to.equal("allow");
    // Ten times a median of 100 is 1,000: the minimum of 10,000 wins.
    expect(decide(10_000n, { recentAmounts: [100n, 100n, 100n] }).action).to.equal("allow");
    expect(decide(10_001n, { recentAmounts: [100n, 100n, 100n] })).to.deep.include(held);
    // Odd count, unsorted: median 2,000, threshold 20,000.
    const odd = [3_000n, 1_000n, 2_000n];
    expect(decide(20_000n, { recentAmounts: odd }).action).to.equal("allow");
    expect(decide(20_001n, { recentAmounts: odd })).to.deep.include(held);
    // Even count: median 2,500 (mean of the middle two), threshold 25,000.
    const even = [4_000n, 1_000n, 3_000n, 2_000n];
    expect(decide(25_000n, { recentAmounts: even }).action).to.equal("allow");
    expect(decide(25_001n, { recentAmounts: even })).to.deep.equal({
      ...held,
      reason: "This transfer is much larger than your usual transfers, so it is held for review.",
    });
    // A median of 1,000.5: ten times it is exactly 10,005, which rounding the median would move.
    const half = [1_000n, 1_001n, 1_000n, 1_001n];
    expect(decide(10_005n, { recentAmounts: half }).action).to.equal("allow");
    expect(decide(10_006n, { recentAmounts: half })).to.deep.include(held);
  });

  it("should refuse rather than hold when a limit and a fraud rule both apply", () => {
    const decision = decide(500_001n, { recentAmounts: [1n, 1n, 1n] }, { beneficiarySavedAt: NOW });
    expect(decision).to.deep.include({ action: "refuse", rule: "per_transfer_limit" });
  });

  it("should write limits in the transfer's currency, with its own decimals", () => {
    const yen = evaluateTransferRules(
      rules,
      { amount: { currency: "JPY", minorUnits: 500_001n }, now: NOW },
      quiet,
    );
    expect(yen).to.deep.include({ reason: "This transfer is above the limit of 500,000 JPY per transfer." });
  });

  it("should follow configured rules, not the defaults", () => {
    const strict: TransferRules = {
      ...rules,
      dailyLimit: 5_000n,
      velocity: { points: 2, durationMs: 15 * 60_000 },
    };
    const refused = evaluateTransferRules(strict, request(100n), { ...quiet, windowCount: 2 });
    expect(refused).to.deep.include({
      reason: "You have reached the limit of 2 transfers in 15 minutes. Please try again later.",
    });
    const daily = evaluateTransferRules(strict, request(5_001n), quiet);
    expect(daily).to.deep.include({ rule: "daily_limit" });
  });
});

describe("describeDuration", () => {
  it("should name a duration in the largest whole unit a customer reads", () => {
    expect(
      [HOUR, 24 * HOUR, 48 * HOUR, 15 * 60_000, 90_000, 1_000, 1_500].map(describeDuration),
    ).to.deep.equal([
      "1 hour",
      "24 hours",
      "2 days",
      "15 minutes",
      "90 seconds",
      "1 second",
      "1500 milliseconds",
    ]);
  });
});

describe("readTransferRulesConfig", () => {
  it("should default to the documented rules", () => {
    const problems: string[] = [];
    expect(readTransferRulesConfig({}, problems)).to.deep.equal({
      perTransferLimit: 500_000n,
      dailyLimit: 1_000_000n,
      velocity: { points: 10, durationMs: HOUR },
      payeeCoolingOffMs: 24 * HOUR,
      payeeCoolingOffAmount: 25_000n,
      unusualAmountFactor: 10n,
      unusualAmountMin: 10_000n,
    });
    expect(problems).to.deep.equal([]);
  });

  it("should read every variable", () => {
    const problems: string[] = [];
    const read = readTransferRulesConfig(
      {
        TRANSFER_LIMIT_PER_TRANSFER: "100",
        TRANSFER_LIMIT_PER_DAY: "200",
        TRANSFER_VELOCITY: "3/15m",
        PAYEE_COOLING_OFF: "2d",
        PAYEE_COOLING_OFF_AMOUNT: "50",
        UNUSUAL_AMOUNT_FACTOR: "4",
        UNUSUAL_AMOUNT_MIN: "60",
      },
      problems,
    );
    expect(read).to.deep.equal({
      perTransferLimit: 100n,
      dailyLimit: 200n,
      velocity: { points: 3, durationMs: 15 * 60_000 },
      payeeCoolingOffMs: 48 * HOUR,
      payeeCoolingOffAmount: 50n,
      unusualAmountFactor: 4n,
      unusualAmountMin: 60n,
    });
    expect(problems).to.deep.equal([]);
  });

  it("should refuse each malformed value with one problem naming its variable", () => {
    const bad = {
      TRANSFER_LIMIT_PER_TRANSFER: "0",
      TRANSFER_LIMIT_PER_DAY: "-5",
      TRANSFER_VELOCITY: "10 per hour",
      PAYEE_COOLING_OFF: "1 day",
      PAYEE_COOLING_OFF_AMOUNT: "25.00",
      UNUSUAL_AMOUNT_FACTOR: "ten",
      UNUSUAL_AMOUNT_MIN: "1e4",
    };
    let error: unknown;
    try {
      loadCoreConfig({
        USER_ID_SALT: "f3b9c1d27e8a4605b1c9d2e7f0a3b4c5d6e7f8091a2b3c4d",
        JWKS_URL: "https://k",
        ...bad,
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    for (const name of Object.keys(bad)) {
      expect(
        problems.filter((p) => p.startsWith(`${name} `)),
        name,
      ).to.have.length(1);
    }
    expect(problems).to.have.length(Object.keys(bad).length);
  });

  it("should hand the core its rules through loadCoreConfig", () => {
    const config = loadCoreConfig({
      USER_ID_SALT: "f3b9c1d27e8a4605b1c9d2e7f0a3b4c5d6e7f8091a2b3c4d",
      JWKS_URL: "https://keys.example/jwks.json",
      TRANSFER_LIMIT_PER_DAY: "123456",
    });
    expect(config.transferRules).to.deep.include({ dailyLimit: 123_456n, perTransferLimit: 500_000n });
  });
});
