import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { readDevSms } from "../../core/stores/otp/dev-outbox-sender.js";
import { BankingService } from "../../gen/teller/v1/banking_service_pb.js";
import { StepUpRequiredSchema } from "../../gen/teller/v1/errors_pb.js";
import type { StartChallengeRequestSchema } from "../../gen/teller/v1/step_up_service_pb.js";
import {
  Purpose,
  type StartChallengeRequest,
  StepUpService,
} from "../../gen/teller/v1/step_up_service_pb.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";
import { seedCustomer } from "../support/seed.js";

const ALICE = "+447700900611";
const BOB = "+447700900622";
const b = BankingService.method;

describe("BankingService writes with step-up (real Redis and PostgreSQL)", () => {
  let t: TestCore;
  let alice: { customerId: string; accountId: string };
  let bob: { customerId: string; accountId: string };
  let auth: Record<string, string>;
  beforeEach(async () => {
    t = await startTestCore();
    alice = await seedCustomer(t, ALICE, 10_000n, "Alice");
    bob = await seedCustomer(t, BOB, 0n, "Bob");
    auth = { authorization: `Bearer ${await t.token(["banking:write", "banking:read"])}` };
  });
  afterEach(() => t.close());

  /** Runs a challenge to its end as the customer would: the code comes from the development SMS outbox. */
  const stepUp = async (request: MessageInitShape<typeof StartChallengeRequestSchema>, phone = ALICE) => {
    const started = await ok(t.core.invoker, StepUpService.method.startChallenge, request, auth);
    const [sms] = await readDevSms({ redis: t.redisHandle?.redis, prefix: t.prefix }, phone);
    const code = /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
    const verified = await ok(
      t.core.invoker,
      StepUpService.method.verifyChallenge,
      { challengeId: started.challengeId, code },
      auth,
    );
    return verified.stepUpToken;
  };
  const transferBinding = (minorUnits: bigint, to = bob.accountId): StartChallengeRequest["binding"] => ({
    case: "transfer",
    value: {
      $typeName: "teller.v1.TransferBinding",
      fromAccountId: alice.accountId,
      payee: { case: "toAccountId", value: to },
      amount: { $typeName: "teller.v1.Money", currency: "EUR", minorUnits },
    },
  });
  /** A step-up token for Alice paying Bob `minorUnits` from her account. */
  const transferToken = (minorUnits: bigint) =>
    stepUp({ customerId: alice.customerId, purpose: Purpose.TRANSFER, binding: transferBinding(minorUnits) });
  const transfer = (key: string, minorUnits: bigint, stepUpToken: string, to = bob.accountId) =>
    call(
      t.core.invoker,
      b.createTransfer,
      {
        idempotencyKey: key,
        fromAccountId: alice.accountId,
        payee: { case: "toAccountId", value: to },
        amount: { currency: "EUR", minorUnits },
        reference: "rent",
        stepUpToken,
      },
      auth,
    );
  const balance = async (accountId: string) =>
    (await ok(t.core.invoker, b.getBalance, { accountId }, auth)).account?.balance?.minorUnits;

  it("should move money once with a step-up bound to the amount and payee, and replay the same key", async () => {
    const token = await transferToken(2_500n);
    const first = await transfer("k-1", 2_500n, token);
    if (!first.ok) throw first.error;
    const again = await transfer("k-1", 2_500n, token);
    if (!again.ok) throw again.error;
    expect(again.response.transfer?.transferId).to.equal(first.response.transfer?.transferId);
    expect(await balance(alice.accountId)).to.equal(7_500n);
    expect(await balance(bob.accountId)).to.equal(2_500n);
    const got = await ok(
      t.core.invoker,
      b.getTransfer,
      { transferId: first.response.transfer?.transferId },
      auth,
    );
    expect(got.transfer?.amount?.minorUnits).to.equal(2_500n);
  });

  it("should refuse a missing token as RFC 9470 does, naming the acr and max_age", async () => {
    const outcome = await transfer("k-2", 100n, "");
    expect(outcome.ok).to.equal(false);
    if (outcome.ok) return;
    expect(outcome.code).to.equal(Code.Unauthenticated);
    expect(outcome.reason).to.equal("INSUFFICIENT_USER_AUTHENTICATION");
    expect(outcome.metadata).to.include({ acr_values: "urn:teller:acr:otp", max_age: "300" });
    const [required] = outcome.error.findDetails(StepUpRequiredSchema);
    expect(required?.maxAgeSeconds).to.equal(300);
    expect(await balance(alice.accountId)).to.equal(10_000n);
  });

  it("should refuse a token bound to another amount, payee or account with PERMISSION_DENIED", async () => {
    const token = await transferToken(2_500n);
    const otherAmount = await transfer("k-3", 2_501n, token);
    expect(otherAmount.ok ? 0 : otherAmount.code).to.equal(Code.PermissionDenied);
    const otherPayee = await transfer("k-4", 2_500n, token, alice.accountId);
    expect(otherPayee.ok ? 0 : otherPayee.code).to.equal(Code.PermissionDenied);
    // The same amount and payee, debited from another customer's account.
    const otherAccount = await call(
      t.core.invoker,
      b.createTransfer,
      {
        idempotencyKey: "k-4b",
        fromAccountId: bob.accountId,
        payee: { case: "toAccountId", value: alice.accountId },
        amount: { currency: "EUR", minorUnits: 2_500n },
        stepUpToken: token,
      },
      auth,
    );
    expect(otherAccount.ok ? 0 : otherAccount.code).to.equal(Code.PermissionDenied);
    expect(await balance(alice.accountId)).to.equal(10_000n);
  });

  it("should let one token serve one transfer only", async () => {
    const token = await transferToken(1_000n);
    expect((await transfer("k-5", 1_000n, token)).ok).to.equal(true);
    const second = await transfer("k-6", 1_000n, token);
    expect(second.ok ? 0 : second.code).to.equal(Code.PermissionDenied);
    expect(await balance(alice.accountId)).to.equal(9_000n);
  });

  it("should refuse an overdraft with FAILED_PRECONDITION and change nothing", async () => {
    const token = await transferToken(10_001n);
    const outcome = await transfer("k-7", 10_001n, token);
    expect(outcome.ok ? 0 : outcome.code).to.equal(Code.FailedPrecondition);
    expect(outcome.ok ? "" : outcome.reason).to.equal("INSUFFICIENT_FUNDS");
    expect(await balance(alice.accountId)).to.equal(10_000n);
    expect(await balance(bob.accountId)).to.equal(0n);
  });

  it("should add a payee only with a step-up bound to its name and account, then pay it", async () => {
    const without = await call(
      t.core.invoker,
      b.addBeneficiary,
      { customerId: alice.customerId, name: "Bob", accountId: bob.accountId, stepUpToken: "" },
      auth,
    );
    expect(without.ok ? 0 : without.code).to.equal(Code.Unauthenticated);
    const token = await stepUp({
      customerId: alice.customerId,
      purpose: Purpose.ADD_BENEFICIARY,
      binding: {
        case: "beneficiary",
        value: { $typeName: "teller.v1.BeneficiaryBinding", name: "Bob", accountId: bob.accountId },
      },
    });
    const renamed = await call(
      t.core.invoker,
      b.addBeneficiary,
      { customerId: alice.customerId, name: "Eve", accountId: bob.accountId, stepUpToken: token },
      auth,
    );
    expect(renamed.ok ? 0 : renamed.code).to.equal(Code.PermissionDenied);
    const added = await ok(
      t.core.invoker,
      b.addBeneficiary,
      { customerId: alice.customerId, name: "Bob", accountId: bob.accountId, stepUpToken: token },
      auth,
    );
    const listed = await ok(t.core.invoker, b.listBeneficiaries, { customerId: alice.customerId }, auth);
    expect(listed.beneficiaries.map((x) => x.name)).to.deep.equal(["Bob"]);
    const beneficiaryId = added.beneficiary?.beneficiaryId as string;
    const payToken = await stepUp({
      customerId: alice.customerId,
      purpose: Purpose.TRANSFER,
      binding: {
        case: "transfer",
        value: {
          $typeName: "teller.v1.TransferBinding",
          fromAccountId: alice.accountId,
          payee: { case: "beneficiaryId", value: beneficiaryId },
          amount: { $typeName: "teller.v1.Money", currency: "EUR", minorUnits: 300n },
        },
      },
    });
    const paid = await ok(
      t.core.invoker,
      b.createTransfer,
      {
        idempotencyKey: "k-8",
        fromAccountId: alice.accountId,
        payee: { case: "beneficiaryId", value: beneficiaryId },
        amount: { currency: "EUR", minorUnits: 300n },
        stepUpToken: payToken,
      },
      auth,
    );
    expect(paid.transfer?.toAccountId).to.equal(bob.accountId);
    expect(await balance(bob.accountId)).to.equal(300n);
  });
});
