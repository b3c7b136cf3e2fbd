import type { Account, Customer, LedgerStore } from "../core/domain/ledger.js";
import type { ServingCore } from "../core/serve.js";
import type { Gateways } from "../gateways/main.js";
import { formatMoney } from "../lib/money.js";
import type { Started } from "./processes.js";

/** The demo customer's number: from Ofcom's range reserved for drama (07700 900xxx), never a real line. */
export const DEMO_PHONE = "+447700900123";

/** Seeds the demo customer once: a EUR account with a 1,250.00 EUR deposit, idempotent by key. */
export async function seedDemo(ledger: LedgerStore): Promise<{ customer: Customer; account: Account }> {
  const customer =
    (await ledger.findCustomerByPhone(DEMO_PHONE)) ??
    (await ledger.createCustomer({ displayName: "Alex Demo", phoneNumber: DEMO_PHONE }));
  const accounts = await ledger.listAccounts(customer.id);
  const account = accounts[0] ?? (await ledger.openAccount(customer.id, "EUR"));
  const { account: funded } = await ledger.deposit({
    accountId: account.id,
    amount: { currency: "EUR", minorUnits: 125_000n },
    reference: "Welcome deposit",
    idempotencyKey: `demo-seed-${account.id}`,
  });
  return { customer, account: funded };
}

/** The walk-through `teller dev` prints. */
export function devBanner(parts: {
  seeded: { customer: Customer; account: Account };
  core: Started<{ serving: ServingCore }>;
  gateways: Started<{ gateways: Gateways; port: number }>;
  dataDir: string;
}): string {
  const { customer, account } = parts.seeded;
  const core = `127.0.0.1:${parts.core.value.serving.corePort}`;
  const balance = formatMoney({ currency: account.currency, minorUnits: account.balance });
  return `
Teller is running (development mode, data in ${parts.dataDir}).
  gRPC (grpc-js, reflection, health): ${core}
  Connect and gRPC-Web:               http://127.0.0.1:${parts.core.value.serving.connectPort}
  Gateways (webhooks):                http://127.0.0.1:${parts.gateways.value.port}/webhooks/whatsapp
  Admin (healthz, readyz, metrics):   core http://127.0.0.1:${parts.core.admin.port}, gateways http://127.0.0.1:${parts.gateways.admin.port}

Demo customer ${customer.displayName}, WhatsApp ${DEMO_PHONE}, account ${account.id}: ${balance}

Chat as that customer over WhatsApp (in another terminal):
  npx teller chat

Or ask the core directly:
  TOKEN=$(npx teller token --scopes conversation)
  npx buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" \\
    --data '{"channel":"CHANNEL_WHATSAPP","channel_user_id":"${DEMO_PHONE}","message_id":"m1","text":"what is my balance?"}' \\
    http://${core}/teller.v1.ConversationService/HandleMessage
`;
}
