import { createServer, type Server } from "node:http";
import type { Http2SecureServer } from "node:http2";
import type { DescMethod, DescMethodUnary } from "@bufbuild/protobuf";
import { Code, type ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { StepUpRequiredSchema } from "../../gen/teller/v1/errors_pb.js";
import type { Logger } from "../../lib/logger.js";
import type { ServerTls } from "../../lib/tls-config.js";
import { createTlsHttp2Server } from "../../lib/tls-http2-server.js";
import { listenOn } from "../../lib/tls-listen.js";
import type { CallMeta, RpcInvoker } from "../rpc/invoker.js";
import { toCallerError } from "./caller-error.js";

/** Options of createConnectHandler. */
export interface ConnectHandlerOptions {
  /** The one pipeline, mounted here and on the gRPC server. */
  readonly invoker: RpcInvoker;
  /** Largest message read or written, in bytes; replaces the unbounded default (STYLE.md §7). */
  readonly maxMessageBytes: number;
  /** Receives failures the invoker did not map to a ConnectError. */
  readonly logger?: Logger;
}

/** A Node request listener, for node:http (HTTP/1.1) or node:http2. */
export type ConnectHandler = ReturnType<typeof connectNodeAdapter>;

/**
 * Creates the request handler of CONNECT_PORT: every unary method of the invoker over the
 * Connect protocol, gRPC-Web and gRPC, for browsers, curl and `buf curl --protocol connect`
 * (DESIGN.md, Transport and speed). Reflection is served only on the gRPC port.
 */
export function createConnectHandler(options: ConnectHandlerOptions): ConnectHandler {
  return connectNodeAdapter({
    routes: (router) => mountInvoker(router, options),
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
  });
}

/** A listening Connect port: its server, the bound port and a close() that drains requests. */
export interface ConnectListener<S> {
  readonly server: S;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves a handler with plain node:http (HTTP/1.1) on host:port (0 picks a free port); resolves
 * once listening.
 */
export async function listenConnect(
  handler: ConnectHandler,
  host: string,
  port: number,
): Promise<ConnectListener<Server>> {
  const server = createServer(handler);
  const bound = await listenOn(server, host, port);
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
  return { server, port: bound, close };
}

/**
 * Serves a handler over TLS 1.2+ on host:port: HTTP/2 for clients that offer it, HTTP/1.1 for the
 * rest (browsers' Connect and gRPC-Web calls), one node:http2 secure server with allowHTTP1 as
 * connect-node recommends. Client certificates are not asked for here: browsers call this port.
 */
export async function listenConnectTls(
  handler: ConnectHandler,
  host: string,
  port: number,
  tls: ServerTls,
): Promise<ConnectListener<Http2SecureServer>> {
  const { server, close } = createTlsHttp2Server(handler, { cert: tls.cert, key: tls.key });
  return { server, port: await listenOn(server, host, port), close };
}

function mountInvoker(router: ConnectRouter, options: ConnectHandlerOptions): void {
  for (const service of options.invoker.services) {
    for (const method of service.methods) {
      if (isUnary(method)) {
        router.rpc(method, unaryImpl(method, options));
      }
    }
  }
}

// protobuf-es types methodKind as a plain union, so the check needs a guard to narrow the method.
function isUnary(method: DescMethod): method is DescMethodUnary {
  return method.methodKind === "unary";
}

/** Adapts one unary method; a rejection that is not a ConnectError leaves as a bare INTERNAL. */
function unaryImpl(method: DescMethodUnary, options: ConnectHandlerOptions) {
  return async (request: Parameters<RpcInvoker["invoke"]>[1], context: HandlerContext) => {
    try {
      return await options.invoker.invoke(method, request, callMeta(context));
    } catch (reason) {
      const error = toCallerError(reason, method, options.logger);
      // Only the Connect protocol answers in plain HTTP (status 401 here); gRPC and gRPC-Web
      // carry the same requirement in their status details (security.md SU-8).
      const challenge = context.protocolName === "connect" ? stepUpChallenge(error) : undefined;
      if (challenge !== undefined) error.metadata.set("www-authenticate", challenge);
      throw error;
    }
  };
}

/**
 * The RFC 9470 §3 challenge for an error that says step-up is missing or too weak (it carries
 * teller.v1.StepUpRequired, which the error table attaches only to INSUFFICIENT_USER_AUTHENTICATION),
 * else undefined: `Bearer error="insufficient_user_authentication", error_description="…",
 * acr_values="…", max_age="…"` (security.md SU-9), so a plain HTTP client such as curl learns what
 * would suffice without decoding the error body. connect-node writes a ConnectError's `metadata`
 * as response headers of a Connect unary error (protocol-connect/handler-factory.js).
 */
export function stepUpChallenge(error: ConnectError): string | undefined {
  if (error.code !== Code.Unauthenticated) return undefined;
  const [required] = error.findDetails(StepUpRequiredSchema);
  if (required === undefined) return undefined;
  const params = [
    'error="insufficient_user_authentication"',
    `error_description="${quotable(error.rawMessage)}"`,
    `acr_values="${quotable(required.acrValues.join(" "))}"`,
    // A non-negative integer (RFC 9470 §3); uint32 in the contract, so it always is one.
    `max_age="${required.maxAgeSeconds}"`,
  ];
  return `Bearer ${params.join(", ")}`;
}

/** Keeps only what RFC 6750 §3 allows inside these quoted values: %x20-21 / %x23-5B / %x5D-7E. */
function quotable(text: string): string {
  return text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "");
}

/** What the invoker learns of a Connect call: headers, deadline, cancellation, response headers. */
function callMeta(context: HandlerContext): CallMeta {
  return {
    protocol: "connect",
    header: (name) => context.requestHeader.get(name) ?? undefined,
    signal: context.signal,
    timeoutMs: context.timeoutMs(),
    setResponseHeader: (name, value) => context.responseHeader.set(name, value),
  };
}
