import type { MessageInitShape } from "@bufbuild/protobuf";
import { readDevSms } from "../../core/stores/otp/dev-outbox-sender.js";
import { BankingService } from "../../gen/teller/v1/banking_service_pb.js";
import {
  Purpose,
  type StartChallengeRequestSchema,
  StepUpService,
} from "../../gen/teller/v1/step_up_service_pb.js";
import { startTestCore, type TestCore } from "./core.js";
import { ok } from "./invoke.js";
import { seedCustomer } from "./seed.js";

/** A customer as seedCustomer made them: one EUR account. */
export interface SeededCustomer {
  readonly customerId: string;
  readonly accountId: string;
}

/** Where a transfer goes: an account id, or a payee Alice saved. */
export type Payee = { case: "toAccountId"; value: string } | { case: "beneficiaryId"; value: string };

/**
 * The starting point of the BankingService write tests: a real core (Redis, PostgreSQL) where
 * Alice holds 100.00 EUR and Bob an empty account, and a caller allowed to read and write.
 */
export interface BankingScene {
  readonly t: TestCore;
  readonly alice: SeededCustomer;
  readonly bob: SeededCustomer;
  /** Request metadata with a token for scopes banking:write and banking:read. */
  readonly auth: Record<string, string>;
  /** A step-up token for Alice paying `minorUnits` EUR from her account to `payee` (Bob's account). */
  transferToken(minorUnits: bigint, payee?: Payee): Promise<string>;
  /** A step-up token for Alice saving Bob's account as a payee called `name`. */
  payeeToken(name: string): Promise<string>;
  /** An account's balance in minor units, as BankingService.GetBalance reports it. */
  balance(accountId: string): Promise<bigint | undefined>;
  close(): Promise<void>;
}

/** Starts the scene; `env` sets core settings (transfer rules) as an operator would. */
export async function startBankingScene(options: {
  alicePhone: string;
  bobPhone: string;
  env?: Record<string, string>;
}): Promise<BankingScene> {
  const t = await startTestCore({ env: options.env });
  const alice = await seedCustomer(t, options.alicePhone, 10_000n, "Alice");
  const bob = await seedCustomer(t, options.bobPhone, 0n, "Bob");
  const auth = { authorization: `Bearer ${await t.token(["banking:write", "banking:read"])}` };
  const stepUp = stepUpAs(t, auth, options.alicePhone);
  const fromAccountId = alice.accountId;
  return {
    t,
    alice,
    bob,
    auth,
    transferToken: (minorUnits, payee = { case: "toAccountId", value: bob.accountId }) => {
      const amount = { $typeName: "teller.v1.Money", currency: "EUR", minorUnits } as const;
      const value = { $typeName: "teller.v1.TransferBinding", fromAccountId, payee, amount } as const;
      return stepUp({
        customerId: alice.customerId,
        purpose: Purpose.TRANSFER,
        binding: { case: "transfer", value },
      });
    },
    payeeToken: (name) => {
      const value = { $typeName: "teller.v1.BeneficiaryBinding", name, accountId: bob.accountId } as const;
      const binding = { case: "beneficiary", value } as const;
      return stepUp({ customerId: alice.customerId, purpose: Purpose.ADD_BENEFICIARY, binding });
    },
    balance: async (accountId) =>
      (await ok(t.core.invoker, BankingService.method.getBalance, { accountId }, auth)).account?.balance
        ?.minorUnits,
    close: () => t.close(),
  };
}

/**
 * Runs a challenge to its end as the customer at `phone` would, the code read from the
 * development SMS outbox, and returns the step-up token it grants.
 */
function stepUpAs(t: TestCore, auth: Record<string, string>, phone: string) {
  const s = StepUpService.method;
  return async (request: MessageInitShape<typeof StartChallengeRequestSchema>): Promise<string> => {
    const started = await ok(t.core.invoker, s.startChallenge, request, auth);
    const [sms] = await readDevSms({ redis: t.redisHandle?.redis, prefix: t.prefix }, phone);
    const code = /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
    const { challengeId } = started;
    return (await ok(t.core.invoker, s.verifyChallenge, { challengeId, code }, auth)).stepUpToken;
  };
}
