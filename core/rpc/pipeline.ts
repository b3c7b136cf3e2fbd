import { create, type DescMethod, type Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { newId } from "../../lib/ids.js";
import type { Logger } from "../../lib/logger.js";
import type { ServiceIdentity, ServiceTokenVerifier } from "../../lib/service-token.js";
import { authenticate, authorize } from "./auth.js";
import { rpcError, toRpcError } from "./error-table.js";
import type { CallMeta, RpcInvoker } from "./invoker.js";
import type { Route, ServiceRoutes } from "./route.js";

/** Collaborators of the pipeline. */
export interface PipelineDeps {
  readonly services: readonly ServiceRoutes[];
  readonly verify: ServiceTokenVerifier;
  readonly logger: Logger;
  /** Deadline for calls whose client set none, and the cap on any client deadline. */
  readonly callTimeoutMs: number;
  /** Receives one observation per call (route = "/package.Service/Method"), for metrics. */
  readonly observe?: (route: string, status: string, seconds: number) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Creates the one RpcInvoker both servers mount: request id → auth → scope → handler under a
 * deadline → error table, with one log line per call. Authentication comes before anything else,
 * including UNIMPLEMENTED, so an anonymous caller learns nothing about the API's state.
 */
export function createInvoker(deps: PipelineDeps): RpcInvoker {
  const table = new Map<string, Route>();
  for (const { service, routes } of deps.services) {
    for (const method of service.methods) {
      const found = routes[method.localName];
      if (found) table.set(pathOf(method), found);
    }
  }
  return {
    services: deps.services.map((s) => s.service),
    invoke: (method, request, meta) => invoke(deps, table.get(pathOf(method)), method, request, meta),
  };
}

async function invoke(
  deps: PipelineDeps,
  found: Route | undefined,
  method: DescMethod,
  request: Message,
  meta: CallMeta,
): Promise<Message> {
  // Durations are wall time (performance.now), not the injected clock, which tests may freeze.
  const started = performance.now();
  const offered = meta.header("x-request-id");
  const requestId = offered && REQUEST_ID.test(offered) ? offered : newId("req_");
  meta.setResponseHeader("x-request-id", requestId);
  const logger = deps.logger.child({ requestId, rpc: pathOf(method), protocol: meta.protocol });
  let caller: ServiceIdentity | undefined;
  const annotations: Record<string, unknown> = {};
  const annotate = (fields: Record<string, unknown>) => void Object.assign(annotations, fields);
  try {
    caller = await authenticate(meta.header("authorization"), deps.verify, (f) =>
      logger.warn({ event: "auth.refused", reason: f.joseCode, claim: f.claim }, "service token refused"),
    );
    if (!found) throw rpcError(Code.Unimplemented, "NOT_IMPLEMENTED", `${method.name} is not available`);
    authorize(caller, found.scope);
    if (!found.handle)
      throw rpcError(Code.Unimplemented, "NOT_IMPLEMENTED", `${method.name} is not available yet`);
    const handle = found.handle;
    const response = await withDeadline(deps, meta, (signal) =>
      handle(request, { requestId, caller: caller as ServiceIdentity, logger, signal, annotate }),
    );
    const ms = elapsedMs(started);
    logger.info({ ...annotations, status: "ok", caller: caller.subject, ms }, "rpc");
    deps.observe?.(pathOf(method), "OK", ms / 1000);
    return create(method.output, response);
  } catch (err) {
    const { error, internal } = toRpcError(err, requestId);
    const status = Code[error.code] as string;
    const fields = { ...annotations, status, caller: caller?.subject, ms: elapsedMs(started) };
    deps.observe?.(pathOf(method), status, fields.ms / 1000);
    if (internal) logger.error({ ...fields, err }, "rpc failed");
    else logger.info({ ...fields, reason: reasonOf(err) }, "rpc");
    throw error;
  }
}

/** Runs the handler under min(client deadline, callTimeoutMs); DEADLINE_EXCEEDED when it passes. */
async function withDeadline<T>(deps: PipelineDeps, meta: CallMeta, run: (signal: AbortSignal) => Promise<T>) {
  const budget = Math.min(meta.timeoutMs ?? deps.callTimeoutMs, deps.callTimeoutMs);
  const signal = AbortSignal.any([meta.signal, AbortSignal.timeout(Math.max(1, budget))]);
  let onAbort = () => {};
  let timedOut = false;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      timedOut = true;
      reject(rpcError(Code.DeadlineExceeded, "DEADLINE_EXCEEDED", "the call's deadline passed"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
  if (signal.aborted) onAbort();
  const running = run(signal);
  // When the deadline wins, the handler's own outcome still arrives; it is logged, not lost.
  running.catch((err) => {
    if (timedOut) deps.logger.warn({ err }, "handler failed after its deadline");
  });
  try {
    return await Promise.race([running, aborted]);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function reasonOf(err: unknown): string | undefined {
  if (err instanceof ConnectError) return err.code === Code.Unauthenticated ? "UNAUTHENTICATED" : undefined;
  return (err as { code?: string }).code;
}
