import {
  create,
  type DescMessage,
  type DescMethodUnary,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import type { RpcInvoker } from "../../core/rpc/invoker.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

/** The outcome of one in-memory call: a response, or the error's code, reason and details. */
export type Outcome<O extends DescMessage> =
  | { readonly ok: true; readonly response: MessageShape<O>; readonly headers: Map<string, string> }
  | {
      readonly ok: false;
      readonly error: ConnectError;
      readonly code: number;
      readonly reason?: string;
      readonly metadata: Record<string, string>;
      readonly headers: Map<string, string>;
    };

/**
 * Calls the pipeline as a transport would, with the real serialization both ways (the request
 * and response go through toBinary/fromBinary), but without a port (STYLE.md §8, rpc tier).
 */
export async function call<I extends DescMessage, O extends DescMessage>(
  invoker: RpcInvoker,
  method: DescMethodUnary<I, O>,
  init: MessageInitShape<I>,
  headers: Record<string, string> = {},
  timeoutMs?: number,
): Promise<Outcome<O>> {
  const request = fromBinary(method.input, toBinary(method.input, create(method.input, init)));
  const responseHeaders = new Map<string, string>();
  const meta = {
    protocol: "grpc" as const,
    header: (name: string) => headers[name],
    signal: new AbortController().signal,
    timeoutMs,
    setResponseHeader: (name: string, value: string) => void responseHeaders.set(name, value),
  };
  try {
    const response = await invoker.invoke(method, request, meta);
    const decoded = fromBinary(method.output, toBinary(method.output, response as MessageShape<O>));
    return { ok: true, response: decoded, headers: responseHeaders };
  } catch (err) {
    if (!(err instanceof ConnectError)) throw err;
    const [info] = err.findDetails(ErrorInfoSchema);
    return {
      ok: false,
      error: err,
      code: err.code,
      reason: info?.reason,
      metadata: info?.metadata ?? {},
      headers: responseHeaders,
    };
  }
}

/** Calls and returns the response, failing the test with the error's text if the call failed. */
export async function ok<I extends DescMessage, O extends DescMessage>(
  invoker: RpcInvoker,
  method: DescMethodUnary<I, O>,
  init: MessageInitShape<I>,
  headers: Record<string, string> = {},
): Promise<MessageShape<O>> {
  const outcome = await call(invoker, method, init, headers);
  if (!outcome.ok) throw new Error(`${method.name} failed: ${outcome.reason} ${outcome.error.rawMessage}`);
  return outcome.response;
}
