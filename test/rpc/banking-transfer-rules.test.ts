import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { BankingService, TransferStatus } from "../../gen/teller/v1/banking_service_pb.js";
import { type BankingScene, startBankingScene } from "../support/banking-scene.js";
import { call, ok } from "../support/invoke.js";

const ALICE = "+447700900711";
const BOB = "+447700900722";
const b = BankingService.method;

describe("BankingService transfer rules (real Redis and PostgreSQL)", () => {
  let bank: BankingScene;
  beforeEach(async () => {
    // Tight rules set through the environment, as an operator would.
    const env = { TRANSFER_LIMIT_PER_TRANSFER: "5000", PAYEE_COOLING_OFF_AMOUNT: "100" };
    bank = await startBankingScene({ alicePhone: ALICE, bobPhone: BOB, env });
  });
  afterEach(() => bank.close());

  /** Alice pays Bob's account `minorUnits` with a step-up bound to exactly that. */
  const pay = async (key: string, minorUnits: bigint) => {
    const payee = { case: "toAccountId" as const, value: bank.bob.accountId };
    const amount = { currency: "EUR", minorUnits };
    const stepUpToken = await bank.transferToken(minorUnits);
    const request = { idempotencyKey: key, fromAccountId: bank.alice.accountId, payee, amount, stepUpToken };
    return call(bank.t.core.invoker, b.createTransfer, request, bank.auth);
  };

  it("should refuse a transfer over the limit with FAILED_PRECONDITION, the rule and a readable reason", async () => {
    const outcome = await pay("k-1", 5_001n);
    if (outcome.ok) throw new Error("expected a refusal");
    expect(outcome.code).to.equal(Code.FailedPrecondition);
    expect(outcome.reason).to.equal("TRANSFER_REFUSED");
    expect(outcome.metadata).to.deep.equal({ rule: "per_transfer_limit" });
    expect(outcome.error.rawMessage).to.equal("This transfer is above the limit of 50.00 EUR per transfer.");
    expect(await bank.balance(bank.alice.accountId)).to.equal(10_000n);
    const refused = await bank.t.core.audit.list({ type: "transfer.refused", limit: 10 });
    expect(refused.items.map((e) => e.attributes)).to.deep.equal([
      { rule: "per_transfer_limit", amount: "5001", currency: "EUR" },
    ]);
  });

  it("should answer HELD with the reason for a large payment to a payee just saved, and move nothing", async () => {
    const token = await bank.payeeToken("Bob");
    await ok(
      bank.t.core.invoker,
      b.addBeneficiary,
      { customerId: bank.alice.customerId, name: "Bob", accountId: bank.bob.accountId, stepUpToken: token },
      bank.auth,
    );
    // Paid by account id, not beneficiary id: the cooling-off follows the account.
    const outcome = await pay("k-2", 300n);
    if (!outcome.ok) throw outcome.error;
    const reason =
      "This payee was added less than 24 hours ago, so a transfer above 1.00 EUR to them is held for review.";
    expect(outcome.response.transfer).to.include({ status: TransferStatus.HELD, statusReason: reason });
    const transferId = outcome.response.transfer?.transferId;
    const got = await ok(bank.t.core.invoker, b.getTransfer, { transferId }, bank.auth);
    expect(got.transfer).to.include({ status: TransferStatus.HELD, statusReason: reason });
    expect([await bank.balance(bank.alice.accountId), await bank.balance(bank.bob.accountId)]).to.deep.equal([
      10_000n,
      0n,
    ]);
    const small = await pay("k-3", 100n);
    if (!small.ok) throw small.error;
    expect(small.response.transfer).to.include({ status: TransferStatus.POSTED, statusReason: "" });
    expect(await bank.balance(bank.bob.accountId)).to.equal(100n);
  });
});
