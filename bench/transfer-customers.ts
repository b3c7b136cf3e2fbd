import { create, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import type { Redis } from "ioredis";
import { readDevSms } from "../core/stores/otp/dev-outbox-sender.js";
import { BankingService } from "../gen/teller/v1/banking_service_pb.js";
import { CustomerService } from "../gen/teller/v1/customer_service_pb.js";
import {
  BeneficiaryBindingSchema,
  Purpose,
  type StartChallengeRequest,
  StepUpService,
  TransferBindingSchema,
} from "../gen/teller/v1/step_up_service_pb.js";
import { callUnary } from "./grpc-caller.js";
import { benchPhone } from "./seed-customers.js";

/**
 * The transfers benchmark's customers, set up the way the bank and its customers would over gRPC:
 * CustomerService creates, opens and funds accounts (scope banking:admin); each customer saves the
 * next one as a payee after a step-up (BankingService.AddBeneficiary); and step-up tokens for
 * transfers come from StepUpService.StartChallenge, the code read from the development SMS
 * outbox, then VerifyChallenge, exactly the customer's OTP step.
 */

/** One seeded customer: their EUR account and the saved payee they pay in the benchmark. */
export interface BenchPayer {
  readonly index: number;
  readonly customerId: string;
  readonly accountId: string;
  readonly phone: string;
  /** A saved payee: the next customer's account (a ring, so money only circulates). */
  readonly beneficiaryId: string;
}

/** A step-up token bound to one transfer of `BenchRpc.amount` from `payer` to their payee. */
export interface MintedToken {
  readonly payer: BenchPayer;
  readonly token: string;
  /** When VerifyChallenge answered, ms since the epoch: the token is good for 5 minutes after. */
  readonly mintedAtMs: number;
}

/** How the benchmark talks to the core: one grpc-js client, service-token headers, the dev outbox. */
export interface BenchRpc {
  readonly client: grpc.Client;
  readonly headers: Readonly<Record<string, string>>;
  /** The core's Redis and key prefix, where the development outbox keeps the texted codes. */
  readonly outbox: { readonly redis: Redis; readonly prefix: string };
  /** The amount of every benchmark transfer. */
  readonly amount: { readonly currency: "EUR"; readonly minorUnits: bigint };
}

/** One unary call that must succeed; a refusal throws, naming the method and the gRPC error. */
export async function rpc<M extends DescMethodUnary>(
  r: BenchRpc,
  method: M,
  init: MessageInitShape<M["input"]>,
): Promise<MessageShape<M["output"]>> {
  const answer = await callUnary(r.client, method, create(method.input, init), r.headers);
  if ("error" in answer) throw new Error(`${method.name} refused: ${answer.error.message}`);
  return answer.response as MessageShape<M["output"]>;
}

/** Creates `count` customers with `depositMinor` EUR minor units each, every one paying the next. */
export async function seedPayers(r: BenchRpc, count: number, depositMinor: bigint): Promise<BenchPayer[]> {
  const c = CustomerService.method;
  const opened = await Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const phone = benchPhone(index);
      const { customer } = await rpc(r, c.createCustomer, {
        displayName: `Payer ${index}`,
        phoneNumber: phone,
      });
      const customerId = customer?.customerId as string;
      const { account } = await rpc(r, c.openAccount, { customerId, currency: "EUR" });
      const accountId = account?.accountId as string;
      const amount = { currency: "EUR", minorUnits: depositMinor };
      await rpc(r, c.deposit, { accountId, amount, idempotencyKey: `bench-transfers-seed-${index}` });
      return { index, customerId, accountId, phone };
    }),
  );
  return Promise.all(
    opened.map(async (payer) => {
      const next = opened[(payer.index + 1) % count] as (typeof opened)[number];
      const binding = create(BeneficiaryBindingSchema, {
        name: `Payer ${next.index}`,
        accountId: next.accountId,
      });
      const stepUpToken = await stepUp(r, payer, Purpose.ADD_BENEFICIARY, {
        case: "beneficiary",
        value: binding,
      });
      const { beneficiary } = await rpc(r, BankingService.method.addBeneficiary, {
        customerId: payer.customerId,
        name: binding.name,
        accountId: next.accountId,
        stepUpToken,
      });
      return { ...payer, beneficiaryId: beneficiary?.beneficiaryId as string };
    }),
  );
}

/**
 * Mints `count` transfer tokens, in the order they were minted. One challenge per customer at a
 * time, since a customer's newest text is the code of their open challenge; customers in parallel.
 */
export async function mintTransferTokens(
  r: BenchRpc,
  payers: readonly BenchPayer[],
  count: number,
): Promise<MintedToken[]> {
  const minted: MintedToken[] = [];
  let started = 0;
  const worker = async (payer: BenchPayer) => {
    while (started < count) {
      started += 1;
      const token = await stepUp(r, payer, Purpose.TRANSFER, { case: "transfer", value: binding(r, payer) });
      minted.push({ payer, token, mintedAtMs: Date.now() });
    }
  };
  await Promise.all(payers.map(worker));
  return minted;
}

function binding(r: BenchRpc, payer: BenchPayer) {
  return create(TransferBindingSchema, {
    fromAccountId: payer.accountId,
    payee: { case: "beneficiaryId", value: payer.beneficiaryId },
    amount: r.amount,
  });
}

/** The customer's OTP step: start a challenge, read the texted code, verify it for a token. */
async function stepUp(
  r: BenchRpc,
  payer: Pick<BenchPayer, "customerId" | "phone">,
  purpose: Purpose,
  bound: StartChallengeRequest["binding"],
): Promise<string> {
  const s = StepUpService.method;
  const { challengeId } = await rpc(r, s.startChallenge, {
    customerId: payer.customerId,
    purpose,
    binding: bound,
  });
  const [sms] = await readDevSms(r.outbox, payer.phone);
  const code = /code (\d{6})/.exec(sms?.text ?? "")?.[1];
  if (code === undefined) throw new Error(`no code in the development outbox for ${payer.customerId}`);
  const { stepUpToken } = await rpc(r, s.verifyChallenge, { challengeId, code });
  return stepUpToken;
}
