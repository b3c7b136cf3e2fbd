import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type AccountSchema,
  type TransactionSchema,
  type TransferSchema,
  TransferStatus,
} from "../../gen/teller/v1/banking_service_pb.js";
import { Channel as ChannelPb, type Money, MoneySchema } from "../../gen/teller/v1/common_pb.js";
import type { CustomerSchema } from "../../gen/teller/v1/customer_service_pb.js";
import type { Money as DomainMoney } from "../../lib/money.js";
import type { Channel } from "../domain/channel.js";
import { invalidArgument } from "../domain/errors.js";
import type { Account, Customer, Posting, Transfer } from "../domain/ledger.js";

/**
 * Conversions between generated messages and the domain's plain types, so a contract change
 * touches this adapter layer only (STYLE.md §1).
 */

const CHANNELS: ReadonlyMap<ChannelPb, Channel> = new Map([
  [ChannelPb.WEB, "web"],
  [ChannelPb.WHATSAPP, "whatsapp"],
  [ChannelPb.TELEGRAM, "telegram"],
  [ChannelPb.INSTAGRAM, "instagram"],
  [ChannelPb.FACEBOOK, "facebook"],
  [ChannelPb.SMS, "sms"],
]);

/** The domain channel of a proto enum value; INVALID_ARGUMENT for unspecified or unknown values. */
export function channelFromPb(field: string, value: ChannelPb): Channel {
  const channel = CHANNELS.get(value);
  if (!channel)
    throw invalidArgument(field, "must be one of the supported channels (CHANNEL_WEB … CHANNEL_SMS)");
  return channel;
}

/** The proto enum value of a domain channel. */
export function channelToPb(channel: Channel): ChannelPb {
  for (const [pb, name] of CHANNELS) if (name === channel) return pb;
  return ChannelPb.UNSPECIFIED;
}

/** Money as a generated message. */
export function moneyToPb(money: DomainMoney): Money {
  return create(MoneySchema, { currency: money.currency, minorUnits: money.minorUnits });
}

/** A timestamp from epoch milliseconds. */
export function ts(ms: number): Timestamp {
  return timestampFromMs(ms);
}

/** A customer as a generated message init. */
export function customerToPb(c: Customer): MessageInitShape<typeof CustomerSchema> {
  return {
    customerId: c.id,
    displayName: c.displayName,
    phoneNumber: c.phoneNumber,
    createdAt: ts(c.createdAt),
  };
}

/** An account as a generated message init. */
export function accountToPb(a: Account): MessageInitShape<typeof AccountSchema> {
  return {
    accountId: a.id,
    customerId: a.customerId,
    balance: moneyToPb({ currency: a.currency, minorUnits: a.balance }),
    openedAt: ts(a.openedAt),
  };
}

/** A posting as a generated Transaction init. */
export function postingToPb(p: Posting): MessageInitShape<typeof TransactionSchema> {
  return {
    transactionId: p.id,
    transferId: p.transferId,
    amount: moneyToPb({ currency: p.currency, minorUnits: p.amount }),
    reference: p.reference,
    bookedAt: ts(p.bookedAt),
    balanceAfter: moneyToPb({ currency: p.currency, minorUnits: p.balanceAfter }),
  };
}

const TRANSFER_STATUS: Record<Transfer["status"], TransferStatus> = {
  posted: TransferStatus.POSTED,
  held: TransferStatus.HELD,
  cancelled: TransferStatus.CANCELLED,
};

/**
 * A transfer as a generated message init: posted, held with the reason the customer reads, or
 * cancelled after review. REFUSED never appears here: a refused transfer is not recorded, the
 * call fails TRANSFER_REFUSED.
 */
export function transferToPb(t: Transfer): MessageInitShape<typeof TransferSchema> {
  return {
    transferId: t.id,
    fromAccountId: t.fromAccountId,
    toAccountId: t.toAccountId,
    amount: moneyToPb(t.amount),
    reference: t.reference,
    status: TRANSFER_STATUS[t.status],
    statusReason: t.statusReason ?? "",
    createdAt: ts(t.createdAt),
  };
}
