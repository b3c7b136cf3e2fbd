import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import type { Logger } from "./logger.js";
import type { ServerTls } from "./tls-config.js";
import { createHttpServer, type HttpServer, listenOn } from "./tls-listen.js";

/**
 * The result of a readiness probe: one entry per dependency ("redis", "core", "database"),
 * true when reachable. The process is ready when every entry is true (an empty report is ready).
 */
export type ReadyReport = Record<string, boolean>;

/** A node:http request handler, so either process can mount it without Koa. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Collaborators and settings of createAdminHandler. */
export interface AdminHandlerDeps {
  /** The process's metrics registry (createMetrics().registry). */
  readonly registry: Registry;
  /** Probes the dependencies; built from checkWithTimeout calls, one per dependency. */
  readonly ready: () => Promise<ReadyReport>;
  /** Receives the causes of failed probes and scrapes; callers only ever see generic bodies. */
  readonly logger?: Logger;
  /** The longest `/readyz` waits for `ready()` before answering not ready; default 2000 ms. */
  readonly readyTimeoutMs?: number;
}

/** Default bound on a readiness probe, below the usual 5 s probe timeout of an orchestrator. */
export const READY_TIMEOUT_MS = 2_000;

const ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * Creates the admin request handler: GET `/healthz` (200 while the process lives), GET `/readyz`
 * (200 when every check of `ready()` is true, 503 naming them otherwise, and when `ready()`
 * rejects or outlasts its timeout), GET `/metrics` (the registry in Prometheus text); 404 for
 * other paths, 405 for other methods. Failures answer generic bodies; causes go to the logger.
 */
export function createAdminHandler(deps: AdminHandlerDeps): AdminHandler {
  const timeoutMs = deps.readyTimeoutMs ?? READY_TIMEOUT_MS;
  return function adminHandler(req, res) {
    handle(req, res, deps, timeoutMs).catch((err: unknown) => {
      deps.logger?.error({ err, path: pathOf(req) }, "admin request failed");
      if (!res.headersSent) sendJson(res, 500, { status: "error" });
      else res.destroy();
    });
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  deps: AdminHandlerDeps,
  timeoutMs: number,
): Promise<void> {
  const path = pathOf(req);
  if (!ROUTES.has(path)) return sendJson(res, 404, { status: "not found" });
  if (req.method !== "GET") {
    res.setHeader("Allow", "GET");
    return sendJson(res, 405, { status: "method not allowed" });
  }
  if (path === "/healthz") return sendJson(res, 200, { status: "ok" });
  if (path === "/readyz") return sendReadiness(res, deps, timeoutMs);
  const body = await deps.registry.metrics();
  res.writeHead(200, { "Content-Type": deps.registry.contentType, "Cache-Control": "no-store" });
  res.end(body);
}

async function sendReadiness(res: ServerResponse, deps: AdminHandlerDeps, timeoutMs: number): Promise<void> {
  let checks: ReadyReport = {};
  const probed = await checkWithTimeout(
    async () => {
      checks = { ...(await deps.ready()) };
    },
    timeoutMs,
    (err) => deps.logger?.warn({ err }, "readiness probe failed"),
  );
  const ready = probed && Object.values(checks).every((ok) => ok === true);
  if (!ready) deps.logger?.warn({ checks }, "not ready");
  sendJson(res, ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks });
}

/**
 * Runs one readiness check bounded by `ms`: resolves true when `fn` settles with anything but
 * `false` in time, false when it resolves `false`, rejects or hangs. A probe must answer within
 * the orchestrator's timeout even when a dependency stops answering, so each check is bounded
 * and the failure becomes a false entry in the ReadyReport (its cause is the caller's to log via
 * `onError`). The timer is unref'd and cleared, so it never holds the process open.
 */
export async function checkWithTimeout(
  fn: () => Promise<unknown>,
  ms: number,
  onError?: (err: unknown) => void,
): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`check timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  try {
    const value = await Promise.race([fn(), timeout]);
    return value !== false;
  } catch (err) {
    onError?.(err);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** A listening admin server; `close()` stops it and drops idle keep-alive connections. */
export interface AdminServer {
  readonly server: HttpServer;
  /** The bound port (the real one when 0 was asked). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `handler` on host:port (port 0 picks a free one) and resolves once listening; over TLS
 * 1.2+ when `tls` is given (never asking for client certificates: probes and scrapers call it).
 * Node's header and request timeouts are tightened: admin requests have no body and must not
 * linger. Only bin/ calls this (STYLE.md §5); roots build the handler.
 */
export async function listenAdmin(
  handler: AdminHandler,
  host: string,
  port: number,
  tls?: ServerTls,
): Promise<AdminServer> {
  const identity = tls === undefined ? undefined : { cert: tls.cert, key: tls.key };
  const server = createHttpServer(handler, identity, { requestTimeout: 10_000, headersTimeout: 5_000 });
  const bound = await listenOn(server, host, port);
  return { server, port: bound, close: () => closeServer(server) };
}

function closeServer(server: HttpServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeIdleConnections();
  });
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? "/";
  const end = url.search(/[?#]/);
  return end === -1 ? url : url.slice(0, end);
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Cache-Control": "no-store",
  });
  res.end(JSON.stringify(body));
}
