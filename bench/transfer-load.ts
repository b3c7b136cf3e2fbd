import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  BankingService,
  CreateTransferRequestSchema,
  type CreateTransferResponse,
} from "../gen/teller/v1/banking_service_pb.js";
import { callUnary } from "./grpc-caller.js";
import type { BenchCall } from "./load.js";
import type { BenchRpc, MintedToken } from "./transfer-customers.js";

/**
 * The measured call of the transfers benchmark: BankingService.CreateTransfer over gRPC, each
 * with a new idempotency key and a step-up token of its own, which the core verifies (signature,
 * binding to this amount and payee, single use) inside the timed call.
 */

/** Step-up tokens handed out oldest first; `ranOut` says a caller found none left. */
export class TokenPool {
  private next = 0;
  ranOut = false;
  constructor(private readonly tokens: readonly MintedToken[]) {}
  /** The oldest token not handed out yet, or undefined (and `ranOut` set). */
  take(): MintedToken | undefined {
    const token = this.tokens[this.next];
    if (token === undefined) this.ranOut = true;
    else this.next += 1;
    return token;
  }
  /** Tokens not handed out yet. */
  get remaining(): number {
    return this.tokens.length - this.next;
  }
  /** When the oldest token not handed out yet was minted, ms since the epoch (Infinity when none). */
  get oldestMintedAtMs(): number {
    return this.tokens[this.next]?.mintedAtMs ?? Number.POSITIVE_INFINITY;
  }
}

/** Counts every transfer the core accepted, warm-up included, for the exactly-once check. */
export interface TransferTally {
  succeeded: number;
}

/** Pause of a caller that found the pool empty, so it does not spin the event loop on resolved promises. */
const EMPTY_POOL_PAUSE_MS = 5;

/**
 * A BenchCall that sends one transfer per call with the pool's next token; success is an answer
 * carrying a transfer. An empty pool is the label NO_TOKEN (the row is then run again with more).
 */
export function transferCall(
  r: BenchRpc,
  pool: TokenPool,
  keyPrefix: string,
  tally: TransferTally,
): BenchCall {
  const method = BankingService.method.createTransfer;
  return async (seq) => {
    const minted = pool.take();
    if (minted === undefined) {
      await new Promise((resolve) => setTimeout(resolve, EMPTY_POOL_PAUSE_MS));
      return "NO_TOKEN";
    }
    const request = create(CreateTransferRequestSchema, {
      idempotencyKey: `${keyPrefix}.${seq}`,
      fromAccountId: minted.payer.accountId,
      payee: { case: "beneficiaryId", value: minted.payer.beneficiaryId },
      amount: r.amount,
      reference: "bench",
      stepUpToken: minted.token,
    });
    const answer = await callUnary(r.client, method, request, r.headers);
    if ("error" in answer) return grpc.status[answer.error.code] ?? `CODE_${answer.error.code}`;
    if (!(answer.response as CreateTransferResponse).transfer?.transferId) return "NO_TRANSFER";
    tally.succeeded += 1;
    return undefined;
  };
}

/**
 * Sends every token of `pool` with `concurrency` calls in flight and returns the transfers per
 * second, untimed otherwise: it warms the core up and estimates how many tokens a row will use.
 */
export async function drainPool(call: BenchCall, pool: TokenPool, concurrency: number): Promise<number> {
  const began = performance.now();
  let seq = 0;
  let succeeded = 0;
  const failures = new Map<string, number>();
  const worker = async () => {
    while (pool.remaining > 0) {
      const error = await call(seq++);
      if (error === undefined) succeeded += 1;
      else failures.set(error, (failures.get(error) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures.size > 0) {
    const labels = [...failures].map(([label, n]) => `${label}: ${n}`).join(", ");
    throw new Error(`transfers failed while warming up (${labels})`);
  }
  return succeeded / ((performance.now() - began) / 1000);
}
