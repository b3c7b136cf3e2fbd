import type { DescMethod, DescService, Message } from "@bufbuild/protobuf";

/**
 * CallMeta is what a transport knows about one call, in a form both servers can give:
 * grpc-js on CORE_PORT and connect-node on CONNECT_PORT (DESIGN.md, Transport and speed).
 */
export interface CallMeta {
  /** Which server received the call. */
  readonly protocol: "grpc" | "connect";
  /** A request header (gRPC metadata) by lower-case name, or undefined. */
  header(name: string): string | undefined;
  /** Aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds left until the client's deadline, if the client set one. */
  readonly timeoutMs?: number;
  /** Sets a response header (initial metadata), such as x-request-id. */
  setResponseHeader(name: string, value: string): void;
}

/**
 * RpcInvoker runs one unary call through the whole pipeline (request id, log, auth, validation,
 * handler, error table). It is written once and mounted on both servers by two small adapters.
 * It resolves with the response message or rejects with a ConnectError whose code, message and
 * details are safe to send to the caller.
 */
export interface RpcInvoker {
  /** Every service the core serves, from the generated descriptors. */
  readonly services: readonly DescService[];
  invoke(method: DescMethod, request: Message, meta: CallMeta): Promise<Message>;
}
