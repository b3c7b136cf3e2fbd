import { BankingService } from "../../gen/teller/v1/banking_service_pb.js";
import { DomainError } from "../domain/errors.js";
import type { LedgerStore } from "../domain/ledger.js";
import { accountToPb, postingToPb } from "./convert.js";
import { readPage, requireId } from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";

/** Collaborators of the BankingService adapter. */
export interface BankingRpcDeps {
  readonly ledger: LedgerStore;
}

/**
 * The BankingService routes: reads need `banking:read`; beneficiaries and transfers need
 * `banking:write` and answer UNIMPLEMENTED until the money-movement issue builds them.
 */
export function createBankingRoutes(deps: BankingRpcDeps): ServiceRoutes {
  const m = BankingService.method;
  return {
    service: BankingService,
    routes: {
      listAccounts: route(m.listAccounts, "banking:read", async (req) => {
        const accounts = await deps.ledger.listAccounts(requireId("customer_id", req.customerId));
        return { accounts: accounts.map(accountToPb) };
      }),
      getBalance: route(m.getBalance, "banking:read", async (req) => {
        const account = await deps.ledger.getAccount(requireId("account_id", req.accountId));
        if (!account) throw new DomainError("NOT_FOUND", "no account with this id");
        return { account: accountToPb(account) };
      }),
      listTransactions: route(m.listTransactions, "banking:read", async (req) => {
        const accountId = requireId("account_id", req.accountId);
        const page = await deps.ledger.listPostings(accountId, readPage("page", req.page));
        return { transactions: page.items.map(postingToPb), nextPageToken: page.nextCursor ?? "" };
      }),
      listBeneficiaries: route(m.listBeneficiaries, "banking:read"),
      addBeneficiary: route(m.addBeneficiary, "banking:write"),
      createTransfer: route(m.createTransfer, "banking:write"),
      getTransfer: route(m.getTransfer, "banking:read"),
    },
  };
}
