import { randomBytes } from "node:crypto";
import { create, type Message } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { Channel } from "../gen/teller/v1/common_pb.js";
import {
  ConversationService,
  HandleMessageRequestSchema,
  type HandleMessageResponse,
} from "../gen/teller/v1/conversation_service_pb.js";
import { systemClock } from "../lib/clock.js";
import { mintServiceToken } from "../lib/service-token.js";
import { createTestKeys } from "../test/support/core.js";
import { callUnary } from "./grpc-caller.js";
import { benchPhone, CUSTOMER_COUNT } from "./seed-customers.js";

/**
 * HandleMessage as the gRPC benchmarks (bench/handle-message.bench.ts, bench/tls.bench.ts) send it
 * to the core child (bench/core-server.ts): a WhatsApp text from a seeded customer with a message
 * id never used before, under a service token of scope `conversation`, answered with a balance.
 */

/** What every bench customer asks. */
export const HANDLE_TEXT = "what is my balance?";
/** How every answer to HANDLE_TEXT begins. */
const BALANCE_REPLY = /^Your balance is /;

/** The gateway's credentials: the metadata of every call, and the key set the core child trusts (BENCH_JWKS). */
export interface BenchCaller {
  readonly headers: Readonly<Record<string, string>>;
  readonly jwks: string;
}

/** A fresh signing key and a one-hour service token of scope `conversation` signed with it. */
export async function createBenchCaller(): Promise<BenchCaller> {
  const keys = await createTestKeys("bench-key");
  const token = await mintServiceToken({
    privateJwk: keys.privateJwk,
    subject: "bench-gateway",
    scopes: ["conversation"],
    ttlSeconds: 3_600,
    clock: systemClock,
  });
  return { headers: { authorization: `Bearer ${token}` }, jwks: JSON.stringify({ keys: [keys.publicJwk] }) };
}

/**
 * A fresh source of HandleMessage requests: request `seq` comes from bench customer
 * `seq mod CUSTOMER_COUNT` with a message id no other source or call has used, so the core's
 * duplicate check never short-cuts a call.
 */
export function handleMessageRequests(): (seq: number) => Message {
  const run = randomBytes(4).toString("hex");
  return (seq) => handleRequest(`${run}.${seq}`, seq);
}

/** undefined when `response` is the balance every bench message should get, else a failure label. */
export function checkBalanceReply(response: Message): string | undefined {
  return BALANCE_REPLY.test((response as HandleMessageResponse).replies[0]?.text ?? "")
    ? undefined
    : "UNEXPECTED_REPLY";
}

/** One call before loading: the core behind `client` must answer a seeded customer with their balance. */
export async function expectBalance(
  client: grpc.Client,
  headers: Readonly<Record<string, string>>,
): Promise<string> {
  const request = handleRequest(`check.${randomBytes(4).toString("hex")}`, 0);
  const answer = await callUnary(client, ConversationService.method.handleMessage, request, headers);
  if ("error" in answer) throw new Error(`core refused the check call: ${answer.error.message}`);
  const text = (answer.response as HandleMessageResponse).replies[0]?.text ?? "";
  if (!BALANCE_REPLY.test(text)) throw new Error(`core answered the check call with ${JSON.stringify(text)}`);
  return text;
}

function handleRequest(id: string, seq: number): Message {
  return create(HandleMessageRequestSchema, {
    channel: Channel.WHATSAPP,
    channelUserId: benchPhone(seq % CUSTOMER_COUNT),
    messageId: `wamid.bench.${id}`,
    content: { case: "text", value: HANDLE_TEXT },
  });
}
