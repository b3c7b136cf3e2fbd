import type { Clock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import type { CoreMetrics } from "../lib/metrics.js";
import { createLimiter } from "../lib/rate-limit.js";
import type { RedisClient } from "../lib/redis.js";
import { mintStepUpToken, STEP_UP_ACR, STEP_UP_MAX_TTL_SECONDS } from "../lib/step-up-token.js";
import type { CoreConfig } from "./config.js";
import type { AuditLog } from "./domain/audit.js";
import type { LedgerStore } from "./domain/ledger.js";
import { createPayments, type Payments } from "./domain/payments.js";
import { createStepUp, type StepUp } from "./domain/step-up.js";
import type { OtpSender } from "./domain/step-up-ports.js";
import type { TotpAuthenticators } from "./domain/totp.js";
import { meterChallenges, meterStepUpLimiter } from "./metered.js";
import { createStepUpCheck } from "./step-up-check.js";
import { createMemoryChallengeStore } from "./stores/memory/challenge-store.js";
import { createDevOutboxSender, type DevOutbox } from "./stores/otp/dev-outbox-sender.js";
import { createTwilioSender } from "./stores/otp/twilio-sender.js";
import { createRateGate } from "./stores/rate-gate.js";
import { createRedisChallengeStore } from "./stores/redis/challenge-store.js";
import { createStepUpLimiter } from "./stores/step-up-limiter.js";
import { createMemoryUsedStepUps, createRedisUsedStepUps } from "./stores/used-step-ups.js";

/** What the step-up and payment use cases are built from. */
export interface MoneyParts {
  readonly config: CoreConfig;
  readonly clock: Clock;
  readonly redis?: RedisClient;
  /** First part of every Redis key. */
  readonly prefix: string;
  readonly ledger: LedgerStore;
}

/** Builds the money-movement use cases: step-up checked with the core's key, each token used once. */
export function createPaymentsService(parts: MoneyParts): Payments {
  const { config, clock, redis, prefix, ledger } = parts;
  return createPayments({
    ledger,
    checkStepUp: createStepUpCheck(config.stepUp.publicJwk, clock),
    usedStepUps: redis ? createRedisUsedStepUps({ redis, prefix }) : createMemoryUsedStepUps({ clock }),
    now: () => clock.now(),
    rules: config.transferRules,
  });
}

/**
 * Builds the step-up use cases: challenges in Redis (or memory), the per-customer lockout
 * (`teller:rl:stepup`, blocked for the window once spent: security.md RL-8), tokens signed with
 * the core's own step-up key, and codes sent through Twilio when configured, else into the
 * development outbox, which production refuses. Customers with an authenticator app get TOTP
 * challenges instead, and every step is appended to the audit trail. Refused codes and lockouts
 * are counted in `metrics` at the challenge store and the lockout (core/metered.ts).
 */
export function createStepUpService(
  parts: MoneyParts & {
    audit: AuditLog;
    totp: TotpAuthenticators;
    metrics: Pick<CoreMetrics, "stepUpFailures" | "stepUpLockouts">;
    devSmsFile?: string;
  },
): { stepUp: StepUp; devOutbox?: DevOutbox } {
  const { config, clock, redis, prefix, ledger } = parts;
  const lockout = config.stepUp.lockout;
  const windowSeconds = Math.ceil(lockout.durationMs / 1000);
  const limiter = createLimiter({
    redis,
    keyPrefix: `${prefix}:rl:stepup`,
    points: lockout.points,
    durationSeconds: windowSeconds,
    blockDurationSeconds: windowSeconds,
  });
  const devOutbox = config.twilio
    ? undefined
    : createDevOutboxSender({ redis, prefix, clock, file: parts.devSmsFile });
  if (devOutbox && config.production) throw new Error("the development SMS outbox is refused in production");
  const sender: OtpSender = config.twilio ? createTwilioSender(config.twilio) : (devOutbox as DevOutbox);
  const stepUp = createStepUp({
    challenges: meterChallenges(
      redis ? createRedisChallengeStore({ redis, prefix }) : createMemoryChallengeStore({ clock }),
      parts.metrics,
    ),
    sender,
    customers: (customerId) => ledger.getCustomer(customerId),
    payees: async (customerId, beneficiaryId) => {
      const payee = await ledger.getBeneficiary(beneficiaryId);
      return payee?.customerId === customerId ? payee : undefined;
    },
    totp: parts.totp,
    audit: parts.audit,
    limiter: meterStepUpLimiter(createStepUpLimiter(limiter), parts.metrics),
    smsGate: createRateGate(
      createLimiter({
        redis,
        keyPrefix: `${prefix}:rl:stepup-sms`,
        points: config.stepUp.smsLimit.points,
        durationSeconds: Math.ceil(config.stepUp.smsLimit.durationMs / 1000),
      }),
      "codes requested",
    ),
    otpKey: config.stepUp.otpKey,
    clock,
    ids: newId,
    mintToken: async (grant) => {
      const token = await mintStepUpToken({
        privateJwk: config.stepUp.privateJwk,
        customerId: grant.customerId,
        purpose: grant.purpose,
        bindingHash: grant.bindingHash,
        acr: STEP_UP_ACR,
        amr: grant.method === "totp" ? ["otp", "totp"] : ["otp", "sms"],
        authTime: grant.authTime,
        ttlSeconds: STEP_UP_MAX_TTL_SECONDS,
        sessionId: grant.challengeId,
        clock,
      });
      return { token, expiresAtMs: (Math.floor(clock.now() / 1000) + STEP_UP_MAX_TTL_SECONDS) * 1000 };
    },
  });
  return { stepUp, devOutbox };
}
