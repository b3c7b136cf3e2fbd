import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { type ServingCore, serveCore } from "../../core/serve.js";
import { BankingService, TransferStatus } from "../../gen/teller/v1/banking_service_pb.js";
import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { createLogger } from "../../lib/logger.js";
import { type BankingScene, startBankingScene } from "../support/banking-scene.js";
import { call, ok } from "../support/invoke.js";
import { grpcWireClient } from "../support/wire-clients.js";

const ALICE = "+447700900811";
const BOB = "+447700900822";
const b = BankingService.method;
const c = CustomerService.method;

describe("CustomerService ReleaseHeldTransfer and CancelHeldTransfer (real Redis and PostgreSQL)", () => {
  let bank: BankingScene;
  let admin: Record<string, string>;
  beforeEach(async () => {
    // Any payment above 1.00 EUR to a payee saved within 24 h is held.
    bank = await startBankingScene({
      alicePhone: ALICE,
      bobPhone: BOB,
      env: { PAYEE_COOLING_OFF_AMOUNT: "100" },
    });
    admin = { authorization: `Bearer ${await bank.t.token(["banking:admin"])}` };
    const stepUpToken = await bank.payeeToken("Bob");
    const payee = {
      customerId: bank.alice.customerId,
      name: "Bob",
      accountId: bank.bob.accountId,
      stepUpToken,
    };
    await ok(bank.t.core.invoker, b.addBeneficiary, payee, bank.auth);
  });
  afterEach(() => bank.close());

  /** Alice pays Bob 3.00 EUR under `key`: held, as Bob is a new payee. Returns the transfer id. */
  const hold = async (key: string): Promise<string> => {
    const payee = { case: "toAccountId" as const, value: bank.bob.accountId };
    const amount = { currency: "EUR", minorUnits: 300n };
    const stepUpToken = await bank.transferToken(300n);
    const request = { idempotencyKey: key, fromAccountId: bank.alice.accountId, payee, amount, stepUpToken };
    const { transfer } = await ok(bank.t.core.invoker, b.createTransfer, request, bank.auth);
    expect(transfer?.status).to.equal(TransferStatus.HELD);
    return transfer?.transferId ?? "";
  };
  const release = (transferId: string, auth = admin) =>
    call(bank.t.core.invoker, c.releaseHeldTransfer, { transferId }, auth);
  const cancel = (transferId: string, reason: string, auth = admin) =>
    call(bank.t.core.invoker, c.cancelHeldTransfer, { transferId, reason }, auth);

  it("should post a released hold once, shown by GetTransfer, ListTransactions and the audit trail", async () => {
    const transferId = await hold("k-1");
    const first = await release(transferId);
    if (!first.ok) throw first.error;
    expect(first.response.transfer).to.include({
      transferId,
      status: TransferStatus.POSTED,
      statusReason: "",
    });
    const again = await release(transferId);
    if (!again.ok) throw again.error;
    expect(again.response.transfer).to.deep.equal(first.response.transfer);
    const got = await ok(bank.t.core.invoker, b.getTransfer, { transferId }, bank.auth);
    expect(got.transfer?.status).to.equal(TransferStatus.POSTED);
    const listed = await ok(
      bank.t.core.invoker,
      b.listTransactions,
      { accountId: bank.bob.accountId },
      bank.auth,
    );
    expect(listed.transactions.map((t) => [t.transferId, t.amount?.minorUnits])).to.deep.equal([
      [transferId, 300n],
    ]);
    expect([await bank.balance(bank.alice.accountId), await bank.balance(bank.bob.accountId)]).to.deep.equal([
      9_700n,
      300n,
    ]);
    const events = await bank.t.core.audit.list({ type: "transfer.released", limit: 10 });
    expect(events.items.map((e) => e.attributes)).to.deep.equal([
      {
        transfer_id: transferId,
        by: "test",
        from_account_id: bank.alice.accountId,
        to_account_id: bank.bob.accountId,
        amount: "300",
        currency: "EUR",
      },
    ]);
    expect(await bank.t.core.audit.verify()).to.include({ ok: true });
  });

  it("should cancel a hold, moving nothing, and then refuse its release with TRANSFER_NOT_HELD", async () => {
    const transferId = await hold("k-2");
    const cancelled = await cancel(transferId, "confirmed_fraud");
    if (!cancelled.ok) throw cancelled.error;
    expect(cancelled.response.transfer).to.include({
      transferId,
      status: TransferStatus.CANCELLED,
      statusReason: "",
    });
    const repeat = await cancel(transferId, "confirmed_fraud");
    expect(repeat.ok && repeat.response.transfer?.status).to.equal(TransferStatus.CANCELLED);
    const late = await release(transferId);
    if (late.ok) throw new Error("expected TRANSFER_NOT_HELD");
    expect([late.code, late.reason]).to.deep.equal([Code.FailedPrecondition, "TRANSFER_NOT_HELD"]);
    const got = await ok(bank.t.core.invoker, b.getTransfer, { transferId }, bank.auth);
    expect(got.transfer?.status).to.equal(TransferStatus.CANCELLED);
    expect(await bank.balance(bank.bob.accountId)).to.equal(0n);
    const events = await bank.t.core.audit.list({ type: "transfer.cancelled", limit: 10 });
    expect(events.items.map((e) => e.attributes)).to.deep.equal([
      { transfer_id: transferId, by: "test", reason: "confirmed_fraud", amount: "300", currency: "EUR" },
    ]);
    expect(await bank.t.core.audit.verify()).to.include({ ok: true });
  });

  it("should answer NOT_FOUND for an unknown id and INVALID_ARGUMENT for a free-text reason", async () => {
    for (const outcome of [await release("trf_missing"), await cancel("trf_missing", "mistake")]) {
      expect(outcome.ok ? 0 : [outcome.code, outcome.reason]).to.deep.equal([Code.NotFound, "NOT_FOUND"]);
    }
    const transferId = await hold("k-3");
    for (const reason of ["", "the customer Jane Doe called", "x".repeat(65)]) {
      const outcome = await cancel(transferId, reason);
      expect(outcome.ok ? 0 : [outcome.code, outcome.metadata]).to.deep.equal([Code.InvalidArgument, {}]);
      expect(outcome.ok ? "" : outcome.error.rawMessage).to.match(/^reason: /);
    }
    const got = await ok(bank.t.core.invoker, b.getTransfer, { transferId }, bank.auth);
    expect(got.transfer?.status).to.equal(TransferStatus.HELD);
  });

  it("should refuse a token without banking:admin with PERMISSION_DENIED and leave the hold", async () => {
    const transferId = await hold("k-4");
    for (const outcome of [
      await release(transferId, bank.auth),
      await cancel(transferId, "mistake", bank.auth),
    ]) {
      expect(outcome.ok ? 0 : outcome.code).to.equal(Code.PermissionDenied);
    }
    const got = await ok(bank.t.core.invoker, b.getTransfer, { transferId }, bank.auth);
    expect(got.transfer?.status).to.equal(TransferStatus.HELD);
  });

  it("should release a hold over the real gRPC transport", async () => {
    const transferId = await hold("k-5");
    const silent = createLogger({ level: "silent" });
    const options = {
      host: "127.0.0.1",
      corePort: 0,
      connectPort: 0,
      maxMessageBytes: 1_048_576,
      logger: silent,
    };
    const serving: ServingCore = await serveCore(bank.t.core, options);
    const grpc = grpcWireClient(serving.corePort);
    try {
      const answer = await grpc.call(c.releaseHeldTransfer, { transferId }, admin);
      if (!answer.ok) throw new Error(`release failed: ${answer.code} ${answer.reason}`);
      expect(answer.json).to.nested.include({
        "transfer.transferId": transferId,
        "transfer.status": "TRANSFER_STATUS_POSTED",
      });
      const denied = await grpc.call(c.cancelHeldTransfer, { transferId, reason: "mistake" }, bank.auth);
      expect(denied.ok ? 0 : denied.code).to.equal(Code.PermissionDenied);
    } finally {
      grpc.close();
      await serving.close();
    }
    expect(await bank.balance(bank.bob.accountId)).to.equal(300n);
  });
});
