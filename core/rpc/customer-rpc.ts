import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { maskPhone } from "../../lib/redact.js";
import type { Erasure } from "../domain/erasure.js";
import type { LedgerStore } from "../domain/ledger.js";
import type { TotpEnrolment } from "../domain/totp.js";
import { accountToPb, channelFromPb, customerToPb, transferToPb } from "./convert.js";
import {
  optionalText,
  requireCurrency,
  requireId,
  requireKey,
  requirePhone,
  requirePositiveMoney,
  requireReasonCode,
  requireText,
} from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";

/** Collaborators of the CustomerService adapter. */
export interface CustomerRpcDeps {
  readonly ledger: LedgerStore;
  /** EnrollTotp: a new authenticator secret, sealed at rest, answered once as an otpauth:// URI. */
  readonly totp: TotpEnrolment;
  /** EraseSubject: sessions, transcripts, the message log and every other registered part. */
  readonly erasure: Erasure;
}

/** The CustomerService routes; scope `banking:admin`, for the bank's own systems. */
export function createCustomerRoutes(deps: CustomerRpcDeps): ServiceRoutes {
  const m = CustomerService.method;
  return {
    service: CustomerService,
    routes: {
      createCustomer: route(m.createCustomer, "banking:admin", async (req, ctx) => {
        const displayName = requireText("display_name", req.displayName.trim(), 100);
        const phoneNumber = requirePhone("phone_number", req.phoneNumber);
        const customer = await deps.ledger.createCustomer({ displayName, phoneNumber });
        ctx.annotate({ customerId: customer.id, phone: maskPhone(phoneNumber) });
        return { customer: customerToPb(customer) };
      }),
      openAccount: route(m.openAccount, "banking:admin", async (req) => {
        const customerId = requireId("customer_id", req.customerId);
        const currency = requireCurrency("currency", req.currency);
        return { account: accountToPb(await deps.ledger.openAccount(customerId, currency)) };
      }),
      deposit: route(m.deposit, "banking:admin", async (req) => {
        const result = await deps.ledger.deposit({
          accountId: requireId("account_id", req.accountId),
          amount: requirePositiveMoney("amount", req.amount),
          reference: optionalText("reference", req.reference, 140),
          idempotencyKey: requireKey("idempotency_key", req.idempotencyKey, 255),
        });
        return { transfer: transferToPb(result.transfer), account: accountToPb(result.account) };
      }),
      enrollTotp: route(m.enrollTotp, "banking:admin", async (req, ctx) => {
        const customerId = requireId("customer_id", req.customerId);
        ctx.annotate({ customerId });
        // The URI holds the secret (proto: "Sensitive: shown once, never logged"): returned only.
        const { otpauthUri } = await deps.totp.enroll(customerId);
        return { otpauthUri };
      }),
      eraseSubject: route(m.eraseSubject, "banking:admin", async (req, ctx) => {
        const channel = channelFromPb("channel", req.channel);
        const channelUserId = requireText("channel_user_id", req.channelUserId, 128);
        const erased = await deps.erasure.eraseSubject(channel, channelUserId);
        ctx.annotate({ subjectId: erased.subjectId, erased: erased.parts });
        return {};
      }),
      // The deciding service is the token's subject, for the audit trail; the reason code is
      // audited but left out of the log line.
      releaseHeldTransfer: route(m.releaseHeldTransfer, "banking:admin", async (req, ctx) => {
        const transferId = requireId("transfer_id", req.transferId);
        ctx.annotate({ transferId });
        const transfer = await deps.ledger.releaseHeldTransfer({ transferId, by: ctx.caller.subject });
        return { transfer: transferToPb(transfer) };
      }),
      cancelHeldTransfer: route(m.cancelHeldTransfer, "banking:admin", async (req, ctx) => {
        const transferId = requireId("transfer_id", req.transferId);
        const reason = requireReasonCode("reason", req.reason);
        ctx.annotate({ transferId });
        const transfer = await deps.ledger.cancelHeldTransfer({ transferId, by: ctx.caller.subject, reason });
        return { transfer: transferToPb(transfer) };
      }),
    },
  };
}
