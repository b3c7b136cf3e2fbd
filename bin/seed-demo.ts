import type { CoreConfig } from "../core/config.js";
import type { LedgerStore } from "../core/domain/ledger.js";
import type { ServingCore } from "../core/serve.js";
import { formatMoney } from "../lib/money.js";

/** The demo customer's number: from Ofcom's range reserved for drama (07700 900xxx), never a real line. */
export const DEMO_PHONE = "+447700900123";

/**
 * Seeds the demo customer once (a EUR account with a 1,250.00 EUR deposit, idempotent by key)
 * and returns the walk-through text `teller dev` prints.
 */
export async function seedDemo(
  ledger: LedgerStore,
  serving: ServingCore,
  config: CoreConfig,
): Promise<string> {
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
  const core = `127.0.0.1:${serving.corePort}`;
  return `
Teller is running (development mode, data in ${config.dataDir}).
  gRPC (grpc-js, reflection, health): ${core}
  Connect and gRPC-Web:               http://127.0.0.1:${serving.connectPort}

Demo customer ${customer.displayName}, WhatsApp ${DEMO_PHONE}, account ${funded.id}: ${formatMoney({ currency: funded.currency, minorUnits: funded.balance })}

Ask for the balance as that customer (in another terminal):
  TOKEN=$(npx teller token --scopes conversation)
  npx buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" \\
    --data '{"channel":"CHANNEL_WHATSAPP","channel_user_id":"${DEMO_PHONE}","message_id":"m1","text":"what is my balance?"}' \\
    http://${core}/teller.v1.ConversationService/HandleMessage
`;
}
