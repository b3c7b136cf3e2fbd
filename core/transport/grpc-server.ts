import type { DescMethod, Message } from "@bufbuild/protobuf";
import type { ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "../../lib/logger.js";
import type { ServerTls } from "../../lib/tls-config.js";
import { grpcServerCredentials } from "../../lib/tls-grpc.js";
import type { CallMeta, RpcInvoker } from "../rpc/invoker.js";
import { toCallerError } from "./caller-error.js";
import { grpcServiceDefinition } from "./grpc-definition.js";
import { encodeGrpcStatusDetails, GRPC_STATUS_DETAILS_KEY } from "./grpc-status-details.js";
import type { HealthService } from "./health.js";
import { createReflectionService } from "./reflection.js";

/** Options of createGrpcServer. */
export interface GrpcServerOptions {
  /** The one pipeline, mounted here and on the Connect server. */
  readonly invoker: RpcInvoker;
  /** grpc.health.v1.Health, registered on the same server. */
  readonly health: HealthService;
  /** Largest message received or sent, in bytes; replaces the grpc-js defaults (STYLE.md §7). */
  readonly maxMessageBytes: number;
  /** Receives failures the invoker did not map to a ConnectError. */
  readonly logger?: Logger;
}

// Pings an idle client every minute and drops it when no answer comes in 20 s, so half-open
// connections from gateways are noticed instead of hanging until the OS gives up.
const KEEPALIVE_OPTIONS = {
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
};

/**
 * Creates the gRPC server of CORE_PORT: every service of the invoker as unary grpc-js handlers
 * built from the protobuf-es descriptors, plus health and reflection v1/v1alpha (DESIGN.md,
 * Transport and speed). The server is not bound; `listenGrpc` or the caller binds it.
 */
export function createGrpcServer(options: GrpcServerOptions): grpc.Server {
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    ...KEEPALIVE_OPTIONS,
  });
  for (const service of options.invoker.services) {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of service.methods) {
      if (method.methodKind === "unary") {
        handlers[method.name] = unaryHandler(method, options);
      }
    }
    server.addService(grpcServiceDefinition(service), handlers);
  }
  options.health.addToServer(server);
  createReflectionService(options.invoker.services).addToServer(server);
  return server;
}

/**
 * Binds a server on host:port (0 picks a free port) and resolves with the bound port: over TLS
 * 1.2+ when `tls` is given (mutual TLS when it names a client CA), else plain HTTP/2 (h2c).
 */
export function listenGrpc(
  server: grpc.Server,
  host: string,
  port: number,
  tls?: ServerTls,
): Promise<number> {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpcServerCredentials(tls), (err, boundPort) => {
      if (err) {
        reject(err);
      } else {
        resolve(boundPort);
      }
    });
  });
}

type UnaryCall = grpc.ServerUnaryCall<Message, Message>;

/** Adapts one unary method: CallMeta in, response or a gRPC status with typed details out. */
function unaryHandler(
  method: DescMethod,
  options: GrpcServerOptions,
): grpc.handleUnaryCall<Message, Message> {
  return (call, callback) => {
    const responseHeaders = new grpc.Metadata();
    // Wrapped in a promise so that even a synchronous throw becomes a status, never a crash.
    const invoked = Promise.resolve().then(() =>
      options.invoker.invoke(method, call.request, callMeta(call, responseHeaders)),
    );
    invoked.then(
      (response) => {
        call.sendMetadata(responseHeaders);
        callback(null, response);
      },
      (reason: unknown) => {
        call.sendMetadata(responseHeaders);
        callback(grpcError(toCallerError(reason, method, options.logger)));
      },
    );
  };
}

/** What the invoker learns of a grpc-js call: headers, deadline, cancellation, response headers. */
function callMeta(call: UnaryCall, responseHeaders: grpc.Metadata): CallMeta {
  const controller = new AbortController();
  call.once("cancelled", () => controller.abort());
  return {
    protocol: "grpc",
    header: (name) => firstString(call.metadata.get(name)),
    signal: controller.signal,
    timeoutMs: timeoutOf(call.getDeadline()),
    setResponseHeader: (name, value) => responseHeaders.set(name, value),
  };
}

function firstString(values: grpc.MetadataValue[]): string | undefined {
  return values.find((value): value is string => typeof value === "string");
}

/** Milliseconds left until a grpc-js deadline, or undefined when the client set none. */
function timeoutOf(deadline: grpc.Deadline): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) {
    return undefined;
  }
  // grpc-js gives an absolute wall-clock deadline, so the wall clock is what it compares with.
  return Math.max(0, at - Date.now());
}

/** A ConnectError as a grpc-js status: same code numbers, raw message, details in a trailer. */
function grpcError(err: ConnectError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  err.metadata.forEach((value, key) => {
    if (!key.endsWith("-bin")) {
      metadata.set(key, value);
    }
  });
  metadata.set(GRPC_STATUS_DETAILS_KEY, Buffer.from(encodeGrpcStatusDetails(err)));
  return { code: err.code as number as grpc.status, details: err.rawMessage, metadata };
}
