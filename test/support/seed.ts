import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import type { TestCore } from "./core.js";
import { ok } from "./invoke.js";

/**
 * Creates a customer with one EUR account holding `minorUnits` (0 for an empty account), through CustomerService as the
 * bank's own systems would (scope banking:admin).
 */
export async function seedCustomer(t: TestCore, phone: string, minorUnits: bigint, displayName = "Alice") {
  const authorization = `Bearer ${await t.token(["banking:admin"])}`;
  const inv = t.core.invoker;
  const m = CustomerService.method;
  const { customer } = await ok(
    inv,
    m.createCustomer,
    { displayName, phoneNumber: phone },
    { authorization },
  );
  const { account } = await ok(
    inv,
    m.openAccount,
    { customerId: customer?.customerId, currency: "EUR" },
    { authorization },
  );
  const amount = { currency: "EUR", minorUnits };
  // A zero balance needs no deposit (a deposit must be positive).
  if (minorUnits > 0n) {
    const request = { accountId: account?.accountId, amount, idempotencyKey: "seed-1" };
    await ok(inv, m.deposit, request, { authorization });
  }
  return { customerId: customer?.customerId as string, accountId: account?.accountId as string };
}
