import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { BankingService } from "../../gen/teller/v1/banking_service_pb.js";
import { StepUpRequiredSchema } from "../../gen/teller/v1/errors_pb.js";
import { type BankingScene, startBankingScene } from "../support/banking-scene.js";
import { call, ok } from "../support/invoke.js";

const ALICE = "+447700900611";
const BOB = "+447700900622";
const b = BankingService.method;

describe("BankingService writes with step-up (real Redis and PostgreSQL)", () => {
  let bank: BankingScene;
  beforeEach(async () => {
    bank = await startBankingScene({ alicePhone: ALICE, bobPhone: BOB });
  });
  afterEach(() => bank.close());

  const transfer = (key: string, minorUnits: bigint, stepUpToken: string, to = bank.bob.accountId) =>
    call(
      bank.t.core.invoker,
      b.createTransfer,
      {
        idempotencyKey: key,
        fromAccountId: bank.alice.accountId,
        payee: { case: "toAccountId", value: to },
        amount: { currency: "EUR", minorUnits },
        reference: "rent",
        stepUpToken,
      },
      bank.auth,
    );

  it("should move money once with a step-up bound to the amount and payee, and replay the same key", async () => {
    const token = await bank.transferToken(2_500n);
    const first = await transfer("k-1", 2_500n, token);
    if (!first.ok) throw first.error;
    const again = await transfer("k-1", 2_500n, token);
    if (!again.ok) throw again.error;
    expect(again.response.transfer?.transferId).to.equal(first.response.transfer?.transferId);
    expect(await bank.balance(bank.alice.accountId)).to.equal(7_500n);
    expect(await bank.balance(bank.bob.accountId)).to.equal(2_500n);
    const got = await ok(
      bank.t.core.invoker,
      b.getTransfer,
      { transferId: first.response.transfer?.transferId },
      bank.auth,
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
    expect(await bank.balance(bank.alice.accountId)).to.equal(10_000n);
  });

  it("should refuse a token bound to another amount, payee or account with PERMISSION_DENIED", async () => {
    const token = await bank.transferToken(2_500n);
    const otherAmount = await transfer("k-3", 2_501n, token);
    expect(otherAmount.ok ? 0 : otherAmount.code).to.equal(Code.PermissionDenied);
    const otherPayee = await transfer("k-4", 2_500n, token, bank.alice.accountId);
    expect(otherPayee.ok ? 0 : otherPayee.code).to.equal(Code.PermissionDenied);
    // The same amount and payee, debited from another customer's account.
    const otherAccount = await call(
      bank.t.core.invoker,
      b.createTransfer,
      {
        idempotencyKey: "k-4b",
        fromAccountId: bank.bob.accountId,
        payee: { case: "toAccountId", value: bank.alice.accountId },
        amount: { currency: "EUR", minorUnits: 2_500n },
        stepUpToken: token,
      },
      bank.auth,
    );
    expect(otherAccount.ok ? 0 : otherAccount.code).to.equal(Code.PermissionDenied);
    expect(await bank.balance(bank.alice.accountId)).to.equal(10_000n);
  });

  it("should let one token serve one transfer only", async () => {
    const token = await bank.transferToken(1_000n);
    expect((await transfer("k-5", 1_000n, token)).ok).to.equal(true);
    const second = await transfer("k-6", 1_000n, token);
    expect(second.ok ? 0 : second.code).to.equal(Code.PermissionDenied);
    expect(await bank.balance(bank.alice.accountId)).to.equal(9_000n);
  });

  it("should refuse an overdraft with FAILED_PRECONDITION and change nothing", async () => {
    const token = await bank.transferToken(10_001n);
    const outcome = await transfer("k-7", 10_001n, token);
    expect(outcome.ok ? 0 : outcome.code).to.equal(Code.FailedPrecondition);
    expect(outcome.ok ? "" : outcome.reason).to.equal("INSUFFICIENT_FUNDS");
    expect(await bank.balance(bank.alice.accountId)).to.equal(10_000n);
    expect(await bank.balance(bank.bob.accountId)).to.equal(0n);
  });

  it("should add a payee only with a step-up bound to its name and account, then pay it", async () => {
    const without = await call(
      bank.t.core.invoker,
      b.addBeneficiary,
      { customerId: bank.alice.customerId, name: "Bob", accountId: bank.bob.accountId, stepUpToken: "" },
      bank.auth,
    );
    expect(without.ok ? 0 : without.code).to.equal(Code.Unauthenticated);
    const token = await bank.payeeToken("Bob");
    const renamed = await call(
      bank.t.core.invoker,
      b.addBeneficiary,
      { customerId: bank.alice.customerId, name: "Eve", accountId: bank.bob.accountId, stepUpToken: token },
      bank.auth,
    );
    expect(renamed.ok ? 0 : renamed.code).to.equal(Code.PermissionDenied);
    const added = await ok(
      bank.t.core.invoker,
      b.addBeneficiary,
      { customerId: bank.alice.customerId, name: "Bob", accountId: bank.bob.accountId, stepUpToken: token },
      bank.auth,
    );
    const listed = await ok(
      bank.t.core.invoker,
      b.listBeneficiaries,
      { customerId: bank.alice.customerId },
      bank.auth,
    );
    expect(listed.beneficiaries.map((x) => x.name)).to.deep.equal(["Bob"]);
    const beneficiaryId = added.beneficiary?.beneficiaryId as string;
    const payToken = await bank.transferToken(300n, { case: "beneficiaryId", value: beneficiaryId });
    const paid = await ok(
      bank.t.core.invoker,
      b.createTransfer,
      {
        idempotencyKey: "k-8",
        fromAccountId: bank.alice.accountId,
        payee: { case: "beneficiaryId", value: beneficiaryId },
        amount: { currency: "EUR", minorUnits: 300n },
        stepUpToken: payToken,
      },
      bank.auth,
    );
    expect(paid.transfer?.toAccountId).to.equal(bank.bob.accountId);
    expect(await bank.balance(bank.bob.accountId)).to.equal(300n);
  });
});
