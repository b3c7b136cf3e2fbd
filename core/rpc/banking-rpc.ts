import { BankingService, type CreateTransferRequest } from "../../gen/teller/v1/banking_service_pb.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import type { Beneficiary, LedgerStore } from "../domain/ledger.js";
import type { Payments, TransferRequest } from "../domain/payments.js";
import { accountToPb, postingToPb, transferToPb, ts } from "./convert.js";
import {
  optionalText,
  readPage,
  requireId,
  requireKey,
  requirePositiveMoney,
  requireText,
} from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";

/** Collaborators of the BankingService adapter. */
export interface BankingRpcDeps {
  readonly ledger: LedgerStore;
  readonly payments: Payments;
}

/**
 * The BankingService routes: reads need `banking:read`; adding a payee and moving money need
 * `banking:write` and a step-up token bound to exactly that operation. A transfer the fraud rules
 * hold answers with status HELD and its reason (GetTransfer too); one the limits refuse fails
 * FAILED_PRECONDITION with ErrorInfo reason TRANSFER_REFUSED and metadata `rule`.
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
      listBeneficiaries: route(m.listBeneficiaries, "banking:read", async (req) => {
        const saved = await deps.ledger.listBeneficiaries(requireId("customer_id", req.customerId));
        return { beneficiaries: saved.map(beneficiaryToPb) };
      }),
      addBeneficiary: route(m.addBeneficiary, "banking:write", async (req, ctx) => {
        const beneficiary = await deps.payments.addBeneficiary({
          customerId: requireId("customer_id", req.customerId),
          name: requireText("name", req.name.trim(), 70),
          accountId: requireId("account_id", req.accountId),
          stepUpToken: req.stepUpToken,
        });
        ctx.annotate({ beneficiaryId: beneficiary.id });
        return { beneficiary: beneficiaryToPb(beneficiary) };
      }),
      createTransfer: route(m.createTransfer, "banking:write", async (req, ctx) => {
        const transfer = await deps.payments.createTransfer(validateTransfer(req, ctx.caller.subject));
        ctx.annotate({ transferId: transfer.id, transferStatus: transfer.status });
        return { transfer: transferToPb(transfer) };
      }),
      getTransfer: route(m.getTransfer, "banking:read", async (req) => {
        const transfer = await deps.ledger.getTransfer(requireId("transfer_id", req.transferId));
        if (!transfer) throw new DomainError("NOT_FOUND", "no transfer with this id");
        return { transfer: transferToPb(transfer) };
      }),
    },
  };
}

/** Validates CreateTransferRequest; the idempotency key is scoped to the calling service. */
export function validateTransfer(req: CreateTransferRequest, callerId: string): TransferRequest {
  const payee =
    req.payee.case === "beneficiaryId"
      ? { beneficiaryId: requireId("beneficiary_id", req.payee.value) }
      : req.payee.case === "toAccountId"
        ? { toAccountId: requireId("to_account_id", req.payee.value) }
        : undefined;
  if (!payee) throw invalidArgument("beneficiary_id", "one of beneficiary_id and to_account_id is required");
  return {
    callerId,
    idempotencyKey: requireKey("idempotency_key", req.idempotencyKey, 255),
    fromAccountId: requireId("from_account_id", req.fromAccountId),
    payee,
    amount: requirePositiveMoney("amount", req.amount),
    reference: optionalText("reference", req.reference, 140),
    stepUpToken: req.stepUpToken,
  };
}

function beneficiaryToPb(b: Beneficiary) {
  return { beneficiaryId: b.id, name: b.name, accountId: b.accountId, createdAt: ts(b.createdAt) };
}
