import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { readDevSms } from "../../core/stores/otp/dev-outbox-sender.js";
import { BankingService, TransferStatus } from "../../gen/teller/v1/banking_service_pb.js";
import type { StartChallengeRequestSchema } from "../../gen/teller/v1/step_up_service_pb.js";
import { Purpose, StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";
import { seedCustomer } from "../support/seed.js";

const ALICE = "+447700900711";
const BOB = "+447700900722";
const b = BankingService.method;

describe("BankingService transfer rules (real Redis and PostgreSQL)", () => {
  let t: TestCore;
  let alice: { customerId: string; accountId: string };
  let bob: { customerId: string; accountId: string };
  let auth: Record<string, string>;
  beforeEach(async () => {
    // Tight rules set through the environment, as an operator would.
    t = await startTestCore({
      env: { TRANSFER_LIMIT_PER_TRANSFER: "5000", PAYEE_COOLING_OFF_AMOUNT: "100" },
    });
    alice = await seedCustomer(t, ALICE, 10_000n, "Alice");
    bob = await seedCustomer(t, BOB, 0n, "Bob");
    auth = { authorization: `Bearer ${await t.token(["banking:write", "banking:read"])}` };
  });
  afterEach(() => t.close());

  /** Runs a challenge as Alice would, reading the code from the development SMS outbox. */
  const stepUp = async (request: MessageInitShape<typeof StartChallengeRequestSchema>) => {
    const started = await ok(t.core.invoker, StepUpService.method.startChallenge, request, auth);
    const [sms] = await readDevSms({ redis: t.redisHandle?.redis, prefix: t.prefix }, ALICE);
    const code = /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
    const verified = await ok(
      t.core.invoker,
      StepUpService.method.verifyChallenge,
      { challengeId: started.challengeId, code },
      auth,
    );
    return verified.stepUpToken;
  };
  /** Alice pays Bob's account `minorUnits` with a step-up bound to exactly that. */
  const pay = async (key: string, minorUnits: bigint) => {
    const payee = { case: "toAccountId" as const, value: bob.accountId };
    const amount = { currency: "EUR", minorUnits };
    const stepUpToken = await stepUp({
      customerId: alice.customerId,
      purpose: Purpose.TRANSFER,
      binding: {
        case: "transfer",
        value: {
          $typeName: "teller.v1.TransferBinding",
          fromAccountId: alice.accountId,
          payee,
          amount: { $typeName: "teller.v1.Money", ...amount },
        },
      },
    });
    const request = { idempotencyKey: key, fromAccountId: alice.accountId, payee, amount, stepUpToken };
    return call(t.core.invoker, b.createTransfer, request, auth);
  };
  const balance = async (accountId: string) =>
    (await ok(t.core.invoker, b.getBalance, { accountId }, auth)).account?.balance?.minorUnits;

  it("should refuse a transfer over the limit with FAILED_PRECONDITION, the rule and a readable reason", async () => {
    const outcome = await pay("k-1", 5_001n);
    if (outcome.ok) throw new Error("expected a refusal");
    expect(outcome.code).to.equal(Code.FailedPrecondition);
    expect(outcome.reason).to.equal("TRANSFER_REFUSED");
    expect(outcome.metadata).to.deep.equal({ rule: "per_transfer_limit" });
    expect(outcome.error.rawMessage).to.equal("This transfer is above the limit of 50.00 EUR per transfer.");
    expect(await balance(alice.accountId)).to.equal(10_000n);
    const refused = await t.core.audit.list({ type: "transfer.refused", limit: 10 });
    expect(refused.items.map((e) => e.attributes)).to.deep.equal([
      { rule: "per_transfer_limit", amount: "5001", currency: "EUR" },
    ]);
  });

  it("should answer HELD with the reason for a large payment to a payee just saved, and move nothing", async () => {
    const token = await stepUp({
      customerId: alice.customerId,
      purpose: Purpose.ADD_BENEFICIARY,
      binding: {
        case: "beneficiary",
        value: { $typeName: "teller.v1.BeneficiaryBinding", name: "Bob", accountId: bob.accountId },
      },
    });
    await ok(
      t.core.invoker,
      b.addBeneficiary,
      { customerId: alice.customerId, name: "Bob", accountId: bob.accountId, stepUpToken: token },
      auth,
    );
    // Paid by account id, not beneficiary id: the cooling-off follows the account.
    const outcome = await pay("k-2", 300n);
    if (!outcome.ok) throw outcome.error;
    const reason =
      "This payee was added less than 24 hours ago, so a transfer above 1.00 EUR to them is held for review.";
    expect(outcome.response.transfer).to.include({ status: TransferStatus.HELD, statusReason: reason });
    const transferId = outcome.response.transfer?.transferId;
    const got = await ok(t.core.invoker, b.getTransfer, { transferId }, auth);
    expect(got.transfer).to.include({ status: TransferStatus.HELD, statusReason: reason });
    expect([await balance(alice.accountId), await balance(bob.accountId)]).to.deep.equal([10_000n, 0n]);
    const small = await pay("k-3", 100n);
    if (!small.ok) throw small.error;
    expect(small.response.transfer).to.include({ status: TransferStatus.POSTED, statusReason: "" });
    expect(await balance(bob.accountId)).to.equal(100n);
  });
});
