import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { Logger } from "../../lib/logger.js";
import type { ServiceIdentity } from "../../lib/service-token.js";

/** The scopes a service token can carry (issue 3; DESIGN.md Identity). */
export type Scope = "conversation" | "banking:read" | "banking:write" | "banking:admin" | "audit";

/** What a handler knows about its call, beyond the request. */
export interface RouteContext {
  readonly requestId: string;
  readonly caller: ServiceIdentity;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  /** Adds fields (ids, never payloads) to the call's one log line. */
  annotate(fields: Record<string, unknown>): void;
}

/**
 * One RPC: the scope it requires and its handler (validate → domain → map). A route without a
 * handler answers UNIMPLEMENTED after authentication, until the issue that builds it.
 */
export interface Route<I extends DescMessage = DescMessage, O extends DescMessage = DescMessage> {
  readonly scope: Scope;
  readonly handle?: (request: MessageShape<I>, ctx: RouteContext) => Promise<MessageInitShape<O>>;
}

/** The routes of one service, keyed by the method's local name (`startSession`). */
export interface ServiceRoutes {
  readonly service: DescService;
  readonly routes: Readonly<Record<string, Route>>;
}

/**
 * Declares a typed route for one method of a generated service: the method's request and
 * response types flow into the handler, and the result is stored untyped in the table.
 */
export function route<I extends DescMessage, O extends DescMessage>(
  _method: { input: I; output: O },
  scope: Scope,
  handle?: (request: MessageShape<I>, ctx: RouteContext) => Promise<MessageInitShape<O>>,
): Route {
  return { scope, handle: handle as Route["handle"] };
}
