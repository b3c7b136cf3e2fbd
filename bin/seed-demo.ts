import type { Account, Customer, LedgerStore } from "../core/domain/ledger.js";
import type { ServingCore } from "../core/serve.js";
import type { Gateways } from "../gateways/main.js";
import { formatMoney } from "../lib/money.js";
import type { Started } from "./processes.js";

/** The demo customer's number: from Ofcom's range reserved for drama (07700 900xxx), never a real line. */
export const DEMO_PHONE = "+447700900123";

/** The demo payee's number, from the same reserved range. */
export const DEMO_PAYEE_PHONE = "+447700900456";

/** What the demo seeds: the customer who chats, and a second customer to pay. */
export interface DemoSeed {
  readonly customer: Customer;
  readonly account: Account;
  readonly payee: { readonly customer: Customer; readonly account: Account };
}

/**
 * Seeds the demo once, idempotently: Alex with a EUR account and a 1,250.00 EUR deposit (by key),
 * and Sam with an empty EUR account for Alex to add as a payee and pay.
 */
export async function seedDemo(ledger: LedgerStore): Promise<DemoSeed> {
  const customer = await ensureCustomer(ledger, DEMO_PHONE, "Alex Demo");
  const account =
    (await ledger.listAccounts(customer.id))[0] ?? (await ledger.openAccount(customer.id, "EUR"));
  const { account: funded } = await ledger.deposit({
    accountId: account.id,
    amount: { currency: "EUR", minorUnits: 125_000n },
    reference: "Welcome deposit",
    idempotencyKey: `demo-seed-${account.id}`,
  });
  const sam = await ensureCustomer(ledger, DEMO_PAYEE_PHONE, "Sam Taylor");
  const samAccount = (await ledger.listAccounts(sam.id))[0] ?? (await ledger.openAccount(sam.id, "EUR"));
  // A restart must not pay the welcome deposit twice: the deposit is idempotent by key, and the
  // balance shown is the account as it stands, not as first seeded.
  const current = (await ledger.getAccount(funded.id)) ?? funded;
  return { customer, account: current, payee: { customer: sam, account: samAccount } };
}

async function ensureCustomer(
  ledger: LedgerStore,
  phoneNumber: string,
  displayName: string,
): Promise<Customer> {
  return (
    (await ledger.findCustomerByPhone(phoneNumber)) ??
    (await ledger.createCustomer({ displayName, phoneNumber }))
  );
}

/** The walk-through `teller dev` prints. */
export function devBanner(parts: {
  seeded: DemoSeed;
  core: Started<{ serving: ServingCore }>;
  gateways: Started<{ gateways: Gateways; port: number }>;
  dataDir: string;
}): string {
  const { customer, account, payee } = parts.seeded;
  const core = `127.0.0.1:${parts.core.value.serving.corePort}`;
  const balance = formatMoney({ currency: account.currency, minorUnits: account.balance });
  return `
Teller is running (development mode, data in ${parts.dataDir}).
  gRPC (grpc-js, reflection, health): ${core}
  Connect and gRPC-Web:               http://127.0.0.1:${parts.core.value.serving.connectPort}
  Gateways (webhooks):                http://127.0.0.1:${parts.gateways.value.port}/webhooks/whatsapp
  Web chat (in a browser):            http://127.0.0.1:${parts.gateways.value.port}/chat
  Admin (healthz, readyz, metrics):   core http://127.0.0.1:${parts.core.admin.port}, gateways http://127.0.0.1:${parts.gateways.admin.port}

Demo customer ${customer.displayName}, WhatsApp ${DEMO_PHONE}, account ${account.id}: ${balance}
  customer number ${customer.id}
A second customer to pay, ${payee.customer.displayName}: account ${payee.account.id}

Chat as ${customer.displayName} over WhatsApp (in another terminal); one-time codes show as [SMS …] lines:
  npx teller chat
    what is my balance?
    add payee Sam ${payee.account.id}     then 1 (Confirm) and the 6-digit code
    send 25 EUR to Sam                  then 1 (Confirm) and the code
Link another chat to ${customer.displayName}'s profile, on any channel:
  npx teller chat --from +447700900999            (or --channel telegram|messenger|instagram|twilio)
    link my account                     then ${customer.id} and the code

Or ask the core directly:
  TOKEN=$(npx teller token --scopes conversation)
  npx buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" \\
    --data '{"channel":"CHANNEL_WHATSAPP","channel_user_id":"${DEMO_PHONE}","message_id":"m1","text":"what is my balance?"}' \\
    http://${core}/teller.v1.ConversationService/HandleMessage
`;
}
