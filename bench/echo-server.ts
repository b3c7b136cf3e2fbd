import { create } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { grpcMethodDefinition } from "../core/transport/grpc-definition.js";
import { listenGrpc } from "../core/transport/grpc-server.js";
import { GetSessionStatsResponseSchema, SessionService } from "../gen/teller/v1/session_service_pb.js";
import { announceAndAwaitStop } from "./child-server.js";

/**
 * The baseline of the HandleMessage benchmark, run as a child process (bench/child-server.ts): a
 * bare grpc-js server with one unary RPC, `teller.v1.SessionService/GetSessionStats`, answering a
 * fixed response. It is built the way the core's server is (the protobuf-es descriptor through
 * grpcMethodDefinition, the same message-size limits) but has no auth, no pipeline and no stores,
 * so `core ÷ echo` is what everything above the transport costs.
 */

const method = SessionService.method.getSessionStats;
const FIXED = create(GetSessionStatsResponseSchema, {
  activeSessions: 3,
  createdLastHour: 2,
  createdLastDay: 7,
  maxSessions: 1_000_000,
});
const MAX_MESSAGE_BYTES = 1_048_576;

async function main(): Promise<void> {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  const definition: grpc.ServiceDefinition = { [method.name]: grpcMethodDefinition(method) };
  const echo: grpc.handleUnaryCall<unknown, unknown> = (_call, callback) => callback(null, FIXED);
  server.addService(definition, { [method.name]: echo });
  await announceAndAwaitStop({ port: await listenGrpc(server, "127.0.0.1", 0) });
  await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("echo-server:", err);
    process.exit(1);
  },
);
