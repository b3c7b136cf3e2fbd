import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DescMethod, DescMethodUnary } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../../lib/logger.js";
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

/**
 * Serves a handler with plain node:http on host:port (0 picks a free port); resolves once
 * listening with the server, for close(), and the bound port.
 */
export function listenConnect(
  handler: ConnectHandler,
  host: string,
  port: number,
): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
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
      throw toCallerError(reason, method, options.logger);
    }
  };
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
