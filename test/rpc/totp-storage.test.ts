import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { Purpose, StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { newEncryptionKey } from "../../lib/aead.js";
import type { ManualClock } from "../../lib/clock.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call } from "../support/invoke.js";
import { seedCustomer } from "../support/seed.js";
import { appCode, createStepClock, enrolTotp, startChallenge, verifyChallenge } from "../support/totp.js";

const K1 = `k1:${newEncryptionKey()}`;
const K2 = `k2:${newEncryptionKey()}`;

interface Row {
  customer_id: string;
  secret_sealed: string;
  last_step: string | null;
}

describe("TOTP secrets at rest (PostgreSQL, ENCRYPTION_KEYS)", () => {
  let t: TestCore;
  let clock: ManualClock;
  const others: TestCore[] = [];

  const start = async (keys: string, shareWith?: TestCore) =>
    startTestCore({ clock, env: { ENCRYPTION_KEYS: keys }, shareWith });
  const rows = async (): Promise<Row[]> => {
    const sql = t.schemaHandle?.client;
    if (!sql) throw new Error("these tests need the PostgreSQL server");
    const result = await sql.query<Row>(
      "SELECT customer_id, secret_sealed, last_step::text AS last_step FROM totp_authenticators ORDER BY customer_id",
    );
    return result.rows;
  };

  beforeEach(async () => {
    clock = createStepClock();
    t = await start(K1);
  });
  afterEach(async () => {
    // Cores sharing the schema close first: the first one drops it.
    for (const other of others.splice(0)) await other.close();
    await t.close();
  });

  it("should keep no Base32, hex, base64 or raw bytes of the secret in the row", async () => {
    const { customerId } = await seedCustomer(t, "+447700900801", 0n);
    const { secret, base32 } = await enrolTotp(t, customerId);
    const [row] = await rows();
    expect(row?.customer_id).to.equal(customerId);
    expect(row?.secret_sealed).to.match(/^v1\.k1\./);
    const stored = JSON.stringify(row);
    for (const spelling of [
      base32,
      secret.toString("hex"),
      secret.toString("base64"),
      secret.toString("base64url"),
    ]) {
      expect(stored.toLowerCase()).to.not.include(spelling.toLowerCase().replace(/=+$/, ""));
    }
    expect(Buffer.from(stored, "latin1").includes(secret)).to.equal(false);
  });

  it("should refuse a sealed secret moved onto another customer's row", async () => {
    const a = await seedCustomer(t, "+447700900802", 0n);
    const b = await seedCustomer(t, "+447700900803", 0n, "Bob");
    const { secret } = await enrolTotp(t, a.customerId);
    await enrolTotp(t, b.customerId);
    await t.schemaHandle?.client.query(
      `UPDATE totp_authenticators SET secret_sealed =
         (SELECT secret_sealed FROM totp_authenticators WHERE customer_id = $1) WHERE customer_id = $2`,
      [a.customerId, b.customerId],
    );
    const authorization = `Bearer ${await t.token(["banking:write"])}`;
    const request = { customerId: b.customerId, purpose: Purpose.VIEW_HISTORY };
    const outcome = await call(t.core.invoker, StepUpService.method.startChallenge, request, {
      authorization,
    });
    expect(outcome.ok ? "ok" : Code[outcome.code]).to.equal(Code[Code.Internal]);
    const logs = t.logs.join("\n");
    expect(logs).to.include("AEAD_AUTH_FAILED");
    expect(logs).to.not.include(secret.toString("hex"));
    // A's own row still opens: the copy harmed only the row it was pasted into.
    const own = await startChallenge(t, a.customerId);
    expect((await verifyChallenge(t, own.challengeId, appCode(secret, clock))).ok).to.equal(true);
  });

  it("should still verify an enrolment sealed under the old key after the keys rotate", async () => {
    const old = await seedCustomer(t, "+447700900804", 0n);
    const { secret } = await enrolTotp(t, old.customerId);
    // A restart with a new primary key in front of the old one (lib/aead.ts: first seals, all open).
    const rotated = await start(`${K2},${K1}`, t);
    others.push(rotated);
    const started = await startChallenge(rotated, old.customerId);
    expect((await verifyChallenge(rotated, started.challengeId, appCode(secret, clock))).ok).to.equal(true);
    const fresh = await seedCustomer(rotated, "+447700900805", 0n, "Carol");
    await enrolTotp(rotated, fresh.customerId);
    const sealedWith = (await rows()).map((row) => [row.customer_id, row.secret_sealed.split(".")[1]]);
    expect(sealedWith).to.have.deep.members([
      [old.customerId, "k1"],
      [fresh.customerId, "k2"],
    ]);
  });

  it("should move last_step forward only, and reset it when the customer enrols again", async () => {
    const { customerId } = await seedCustomer(t, "+447700900806", 0n);
    const { secret } = await enrolTotp(t, customerId);
    const started = await startChallenge(t, customerId);
    expect((await verifyChallenge(t, started.challengeId, appCode(secret, clock, 1))).ok).to.equal(true);
    const step = BigInt(Math.floor(clock.now() / 30_000)) + 1n;
    expect((await rows())[0]?.last_step).to.equal(step.toString());
    const again = await enrolTotp(t, customerId);
    expect(again.secret.equals(secret)).to.equal(false);
    expect((await rows())[0]?.last_step).to.equal(null);
  });
});
