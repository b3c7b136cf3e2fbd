import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../lib/logger.js";

/** The only text a caller sees for a failure the error table did not map (STYLE.md §6). */
export const INTERNAL_ERROR_MESSAGE = "internal error";

/**
 * Turns what an invoker rejected with into an error that is safe to send. The invoker promises
 * a ConnectError; anything else is a bug, so the caller gets a bare INTERNAL with no text of the
 * cause, and the cause goes to the log (when a logger is given) and stays on `cause`.
 */
export function toCallerError(reason: unknown, method: DescMethod, logger?: Logger): ConnectError {
  if (reason instanceof ConnectError) {
    return reason;
  }
  logger?.error({ err: reason, rpc: `${method.parent.typeName}/${method.name}` }, "unmapped rpc failure");
  return new ConnectError(INTERNAL_ERROR_MESSAGE, Code.Internal, undefined, undefined, reason);
}
