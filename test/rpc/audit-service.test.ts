import type { DescMethodUnary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { AuditService } from "../../gen/teller/v1/audit_service_pb.js";
import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";

const a = AuditService.method;
const c = CustomerService.method;

describe("AuditService", () => {
  let t: TestCore;
  let clock: ManualClock;
  let admin: Record<string, string>;
  let auditor: Record<string, string>;

  beforeEach(async () => {
    clock = createManualClock(Date.now());
    t = await startTestCore({ state: "memory", database: "pglite", clock });
    admin = { authorization: `Bearer ${await t.token(["banking:admin"])}` };
    auditor = { authorization: `Bearer ${await t.token(["audit"])}` };
  });
  afterEach(() => t.close());

  /** A customer with a EUR account and one deposit, through CustomerService: three audit events. */
  async function seed(phoneNumber: string) {
    const { customer } = await ok(
      t.core.invoker,
      c.createCustomer,
      { displayName: "Ada", phoneNumber },
      admin,
    );
    const customerId = customer?.customerId as string;
    clock.advance(1_000);
    const { account } = await ok(t.core.invoker, c.openAccount, { customerId, currency: "EUR" }, admin);
    clock.advance(1_000);
    const deposit = {
      accountId: account?.accountId as string,
      amount: { currency: "EUR", minorUnits: 1_000n },
      idempotencyKey: `seed-${customerId}`,
    };
    await ok(t.core.invoker, c.deposit, deposit, admin);
    await ok(t.core.invoker, c.deposit, deposit, admin);
    clock.advance(1_000);
    return customerId;
  }

  it("should refuse callers without the audit scope with PERMISSION_DENIED", async () => {
    for (const method of [a.listAuditEvents, a.verifyAuditChain] as DescMethodUnary[]) {
      const outcome = await call(t.core.invoker, method, {}, admin);
      expect(outcome.ok ? 0 : outcome.code).to.equal(Code.PermissionDenied);
      if (!outcome.ok) expect(outcome.metadata.required_scope).to.equal("audit");
    }
  });

  it("should list the events of CustomerService calls, oldest first, without the raw phone", async () => {
    const customerId = await seed("+447700900123");
    const { events, nextPageToken } = await ok(t.core.invoker, a.listAuditEvents, { customerId }, auditor);
    expect(events.map((e) => [e.seq, e.type, e.customerId, e.outcome])).to.deep.equal([
      [1n, "customer.created", customerId, "success"],
      [2n, "account.opened", customerId, "success"],
      [3n, "deposit.posted", customerId, "success"],
    ]);
    expect(events[2]?.attributes).to.include({ amount: "1000", currency: "EUR" });
    expect(events.every((e) => /^[0-9a-f]{64}$/.test(e.hash))).to.equal(true);
    expect(nextPageToken).to.equal("");
    expect(JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.to.include(
      "7700900123",
    );
  });

  it("should filter by customer, type and time and page with the returned token", async () => {
    const first = await seed("+447700900123");
    const second = await seed("+447700900456");
    const byType = await ok(t.core.invoker, a.listAuditEvents, { type: "account.opened" }, auditor);
    expect(byType.events.map((e) => e.customerId)).to.deep.equal([first, second]);
    const start = await ok(t.core.invoker, a.listAuditEvents, { customerId: second }, auditor);
    const startTime = start.events[0]?.occurredAt;
    const late = await ok(t.core.invoker, a.listAuditEvents, { startTime, page: { pageSize: 2 } }, auditor);
    expect(late.events.map((e) => e.seq)).to.deep.equal([4n, 5n]);
    const rest = await ok(
      t.core.invoker,
      a.listAuditEvents,
      { startTime, page: { pageSize: 2, pageToken: late.nextPageToken } },
      auditor,
    );
    expect(rest.events.map((e) => e.seq)).to.deep.equal([6n]);
    expect(rest.nextPageToken).to.equal("");
    const early = await ok(t.core.invoker, a.listAuditEvents, { endTime: startTime }, auditor);
    expect(early.events.map((e) => e.customerId)).to.deep.equal([first, first, first]);
  });

  it("should refuse invalid filters with INVALID_ARGUMENT naming the field", async () => {
    const cases: [object, string][] = [
      [{ customerId: "c".repeat(65) }, "customer_id"],
      [{ type: "t".repeat(65) }, "type"],
      [{ startTime: { seconds: 10n }, endTime: { seconds: 10n } }, "end_time"],
      [{ startTime: { seconds: 300_000_000_000n } }, "start_time"],
      [{ page: { pageToken: "bm90LWEtdG9rZW4" } }, "page.page_token"],
      [{ page: { pageSize: 101 } }, "page.page_size"],
    ];
    for (const [request, field] of cases) {
      const outcome = await call(t.core.invoker, a.listAuditEvents, request, auditor);
      expect(outcome.ok ? 0 : outcome.code, field).to.equal(Code.InvalidArgument);
      const details = outcome.ok ? [] : outcome.error.findDetails(BadRequestSchema);
      expect(details.flatMap((d) => d.fieldViolations.map((v) => v.field))).to.deep.equal([field]);
    }
  });

  it("should verify the chain the calls wrote", async () => {
    expect(await ok(t.core.invoker, a.verifyAuditChain, {}, auditor)).to.include({
      ok: true,
      firstBrokenSeq: 0n,
      checked: 0n,
    });
    await seed("+447700900123");
    expect(await ok(t.core.invoker, a.verifyAuditChain, {}, auditor)).to.include({
      ok: true,
      firstBrokenSeq: 0n,
      checked: 3n,
    });
  });
});
