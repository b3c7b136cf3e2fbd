import type { DescMethod, Message } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcMethodDefinition } from "../core/transport/grpc-definition.js";
import type { BenchCall } from "./load.js";

/**
 * The benchmark's client side, as a gateway calls the core (DESIGN.md, Transport and speed): one
 * grpc-js client over one long-lived HTTP/2 channel, serializers from the protobuf-es descriptors,
 * request metadata on every call and a deadline on every call.
 */

/** Deadline of every bench call, as the gateways set one: 10 s. */
export const CALL_DEADLINE_MS = 10_000;

/** The answer to one unary call: the response, or the grpc-js error. */
export type UnaryAnswer = { readonly response: Message } | { readonly error: grpc.ServiceError };

/**
 * Opens one client (one channel) to 127.0.0.1:port with a bounded message size: h2c unless
 * `credentials` say TLS (bench/tls.bench.ts), with `options` added to the channel's.
 */
export function createBenchClient(
  port: number,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, credentials, {
    "grpc.max_receive_message_length": 1_048_576,
    "grpc.max_send_message_length": 1_048_576,
    ...options,
  });
}

/** Sends one unary call of `method` with `headers` as metadata and the bench deadline. */
export function callUnary(
  client: grpc.Client,
  method: DescMethod,
  request: Message,
  headers: Readonly<Record<string, string>>,
): Promise<UnaryAnswer> {
  const definition = grpcMethodDefinition(method);
  return callWith(client, definition, request, headers);
}

/**
 * A BenchCall that sends `requestFor(seq)` to `method` over `client`: success is any response
 * `check` accepts (undefined from check), failure is labelled by the gRPC status name.
 */
export function unaryBenchCall(
  client: grpc.Client,
  method: DescMethod,
  requestFor: (seq: number) => Message,
  headers: Readonly<Record<string, string>>,
  check: (response: Message) => string | undefined = () => undefined,
): BenchCall {
  const definition = grpcMethodDefinition(method);
  return async (seq) => {
    const answer = await callWith(client, definition, requestFor(seq), headers);
    if ("error" in answer) return grpc.status[answer.error.code] ?? `CODE_${answer.error.code}`;
    return check(answer.response);
  };
}

function callWith(
  client: grpc.Client,
  definition: grpc.MethodDefinition<Message, Message>,
  request: Message,
  headers: Readonly<Record<string, string>>,
): Promise<UnaryAnswer> {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(headers)) metadata.set(name, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error, response) => resolve(error || !response ? { error: error as grpc.ServiceError } : { response }),
    );
  });
}
