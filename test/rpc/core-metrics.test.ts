import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { readDevSms } from "../../core/stores/otp/dev-outbox-sender.js";
import { AuditService } from "../../gen/teller/v1/audit_service_pb.js";
import { BankingService } from "../../gen/teller/v1/banking_service_pb.js";
import { Purpose, StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { type BankingScene, startBankingScene } from "../support/banking-scene.js";
import { call, ok } from "../support/invoke.js";

const ALICE = "+447700900811";
const BOB = "+447700900822";
const b = BankingService.method;
const s = StepUpService.method;

/** The value of one sample of the Prometheus text, or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split("\n")) {
    const match = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? "").split(",");
    if (wanted.every((pair) => present.includes(pair))) return Number(match[3]);
  }
  return undefined;
}

describe("core metrics (real Redis and PostgreSQL, read from the /metrics text)", () => {
  let bank: BankingScene;
  afterEach(() => bank.close());

  const start = async (env: Record<string, string> = {}) => {
    bank = await startBankingScene({ alicePhone: ALICE, bobPhone: BOB, env });
  };
  const read = async (name: string, labels: Record<string, string> = {}) =>
    sample(await bank.t.core.metrics.registry.metrics(), name, labels);
  const failures = async () => ({
    invalid: await read("teller_step_up_failures_total", { reason: "invalid" }),
    expired: await read("teller_step_up_failures_total", { reason: "expired" }),
    locked: await read("teller_step_up_failures_total", { reason: "locked" }),
    lockouts: await read("teller_step_up_lockouts_total"),
  });

  /** Starts a challenge for Alice; returns its id and the code texted to her. */
  const challenge = async () => {
    const request = { customerId: bank.alice.customerId, purpose: Purpose.LINK_CHANNEL };
    const { challengeId } = await ok(bank.t.core.invoker, s.startChallenge, request, bank.auth);
    const [sms] = await readDevSms({ redis: bank.t.redisHandle?.redis, prefix: bank.t.prefix }, ALICE);
    const code = /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
    return { challengeId, code, wrong: code === "000000" ? "111111" : "000000" };
  };
  const verify = (challengeId: string, code: string) =>
    call(bank.t.core.invoker, s.verifyChallenge, { challengeId, code }, bank.auth);

  it("should count wrong codes as invalid, the challenge they kill as a lockout, and a late code as expired", async () => {
    await start({ RATE_LIMIT_STEP_UP: "20/15m" });
    expect(await failures()).to.deep.equal({ invalid: 0, expired: 0, locked: 0, lockouts: 0 });
    const { challengeId, code, wrong } = await challenge();
    for (let i = 0; i < 2; i++) expect((await verify(challengeId, wrong)).ok).to.equal(false);
    expect(await failures()).to.deep.equal({ invalid: 2, expired: 0, locked: 0, lockouts: 0 });
    for (let i = 0; i < 3; i++) expect((await verify(challengeId, wrong)).ok).to.equal(false);
    expect(await failures()).to.deep.equal({ invalid: 5, expired: 0, locked: 0, lockouts: 1 });
    // The right code, too late: the challenge is dead and nothing is compared.
    expect((await verify(challengeId, code)).ok).to.equal(false);
    expect(await failures()).to.deep.equal({ invalid: 5, expired: 1, locked: 0, lockouts: 1 });
  });

  it("should count no failure for a right code", async () => {
    await start();
    const { challengeId, code } = await challenge();
    expect((await verify(challengeId, code)).ok).to.equal(true);
    expect(await failures()).to.deep.equal({ invalid: 0, expired: 0, locked: 0, lockouts: 0 });
  });

  it("should count an attempt the customer's lockout refuses as locked, before any code is compared", async () => {
    await start({ RATE_LIMIT_STEP_UP: "5/15m" });
    const first = await challenge();
    for (let i = 0; i < 5; i++) await verify(first.challengeId, first.wrong);
    const next = await challenge();
    const refused = await verify(next.challengeId, next.code);
    expect(refused.ok ? undefined : refused.reason).to.equal("OTP_LOCKED");
    expect(await failures()).to.deep.equal({ invalid: 5, expired: 0, locked: 1, lockouts: 1 });
  });

  it("should count transfers by what the ledger decided, and a replayed key once", async () => {
    await start({ TRANSFER_LIMIT_PER_TRANSFER: "5000", PAYEE_COOLING_OFF_AMOUNT: "100" });
    const pay = async (key: string, minorUnits: bigint, stepUpToken?: string) => {
      const payee = { case: "toAccountId" as const, value: bank.bob.accountId };
      const request = {
        idempotencyKey: key,
        fromAccountId: bank.alice.accountId,
        payee,
        amount: { currency: "EUR", minorUnits },
        stepUpToken: stepUpToken ?? (await bank.transferToken(minorUnits)),
      };
      return call(bank.t.core.invoker, b.createTransfer, request, bank.auth);
    };
    const outcomes = async () => {
      const names = ["posted", "held", "refused", "rejected", "failed"];
      const values = await Promise.all(names.map((outcome) => read("teller_transfers_total", { outcome })));
      return Object.fromEntries(names.map((name, i) => [name, values[i]]));
    };
    const token = await bank.transferToken(100n);
    expect((await pay("k-1", 100n, token)).ok).to.equal(true);
    expect((await pay("k-1", 100n, token)).ok, "the replay answers too").to.equal(true);
    expect(await outcomes()).to.deep.equal({ posted: 1, held: 0, refused: 0, rejected: 0, failed: 0 });
    expect(await pay("k-2", 5_001n)).to.include({ ok: false, reason: "TRANSFER_REFUSED" });
    const payeeToken = await bank.payeeToken("Bob");
    const beneficiary = { name: "Bob", accountId: bank.bob.accountId, stepUpToken: payeeToken };
    await ok(
      bank.t.core.invoker,
      b.addBeneficiary,
      { customerId: bank.alice.customerId, ...beneficiary },
      bank.auth,
    );
    expect((await pay("k-3", 300n)).ok).to.equal(true);
    // The same key with another amount: IDEMPOTENCY_CONFLICT, a request that cannot be made.
    expect(await pay("k-1", 200n)).to.include({ ok: false, reason: "IDEMPOTENCY_CONFLICT" });
    expect(await outcomes()).to.deep.equal({ posted: 1, held: 1, refused: 1, rejected: 1, failed: 0 });
    // The ledger's table gone (in this test's own schema): the ledger cannot decide.
    const stepUpToken = await bank.transferToken(50n);
    await bank.t.schemaHandle?.client.query("ALTER TABLE transfers RENAME TO transfers_gone");
    const broken = await pay("k-4", 50n, stepUpToken);
    expect(broken.ok ? undefined : broken.code).to.be.oneOf([Code.Internal, Code.Unavailable]);
    expect(await outcomes()).to.deep.equal({ posted: 1, held: 1, refused: 1, rejected: 1, failed: 1 });
  });

  it("should count each audit chain verification by what it found", async () => {
    await start();
    const auditor = { authorization: `Bearer ${await bank.t.token(["audit"])}` };
    const verifyChain = () => ok(bank.t.core.invoker, AuditService.method.verifyAuditChain, {}, auditor);
    expect(await verifyChain()).to.include({ ok: true });
    expect(await read("teller_audit_chain_verifications_total", { result: "ok" })).to.equal(1);
    expect(await read("teller_audit_chain_verifications_total", { result: "broken" })).to.equal(0);
    await bank.t.schemaHandle?.client.transaction(async (tx) => {
      await tx.query("ALTER TABLE audit_events DISABLE TRIGGER ALL", []);
      await tx.query(
        `UPDATE audit_events SET attributes = jsonb_set(attributes, '{tampered}', '"1"') WHERE seq = 2`,
        [],
      );
      await tx.query("ALTER TABLE audit_events ENABLE TRIGGER ALL", []);
    });
    expect(await verifyChain()).to.include({ ok: false, firstBrokenSeq: 2n });
    expect(await read("teller_audit_chain_verifications_total", { result: "ok" })).to.equal(1);
    expect(await read("teller_audit_chain_verifications_total", { result: "broken" })).to.equal(1);
  });
});
