import {
  createServer as createPlainServer,
  type RequestListener,
  type Server,
  type ServerOptions,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo, Server as NetServer } from "node:net";
import type { SecureVersion, TlsOptions } from "node:tls";
import type { ServerTls } from "./tls-config.js";

/**
 * The oldest TLS version any listener accepts. Set on every server rather than left to Node's
 * process-wide default, which `--tls-min-v1.0` (or NODE_OPTIONS) would lower for all of them.
 */
export const MIN_TLS_VERSION: SecureVersion = "TLSv1.2";

/**
 * The node:tls server options of a ServerTls: its chain and key, TLS 1.2 at least, and with a
 * client CA a required client certificate chaining to it (a handshake without one fails).
 */
export function tlsServerOptions(tls: ServerTls): TlsOptions {
  const options: TlsOptions = { cert: tls.cert, key: tls.key, minVersion: MIN_TLS_VERSION };
  if (tls.clientCa === undefined) return options;
  return { ...options, ca: tls.clientCa, requestCert: true, rejectUnauthorized: true };
}

/** An HTTP/1.1 server over TLS or in plain text; both close the same way (close, closeIdleConnections). */
export type HttpServer = Server | HttpsServer;

/**
 * An HTTP/1.1 server for `handler`: node:https with tlsServerOptions when `tls` is given, plain
 * node:http otherwise, with the same `options` (timeouts) either way.
 */
export function createHttpServer(
  handler: RequestListener,
  tls?: ServerTls,
  options: ServerOptions = {},
): HttpServer {
  if (tls === undefined) return createPlainServer(options, handler);
  return createHttpsServer({ ...options, ...tlsServerOptions(tls) }, handler);
}

/** Listens on host:port (0 picks a free port) and resolves with the bound port. */
export function listenOn(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
