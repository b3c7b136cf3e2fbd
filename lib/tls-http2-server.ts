import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import type { Socket } from "node:net";
import type { ServerTls } from "./tls-config.js";
import { tlsServerOptions } from "./tls-listen.js";

/** A request listener that serves both HTTP/1.1 and HTTP/2 requests (connect-node's adapter is one). */
export type DualRequestListener = (
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
) => void;

/** A TLS server speaking HTTP/2 and HTTP/1.1, and how to stop it without cutting calls short. */
export interface TlsHttp2Server {
  readonly server: Http2SecureServer;
  /** Stops accepting, lets in-flight requests finish (10 s at most), then closes every connection. */
  close(): Promise<void>;
}

/** Bound on a graceful close, as grpc-js's tryShutdown is bounded in core/serve.ts. */
const DRAIN_MS = 10_000;

/**
 * Creates a node:http2 secure server with `allowHTTP1`: HTTP/2 for clients that offer it by
 * ALPN, HTTP/1.1 for the rest (browsers' Connect and gRPC-Web calls, curl), as connect-node serves
 * every protocol. TLS 1.2 at least (tlsServerOptions). The server is not listening yet.
 *
 * Node's http2 server has no closeIdleConnections, so it tracks its connections itself: on
 * close, HTTP/2 sessions get a GOAWAY (streams in flight finish) and HTTP/1.1 connections end
 * once their request in flight, if any, is answered.
 */
export function createTlsHttp2Server(handler: DualRequestListener, tls: ServerTls): TlsHttp2Server {
  const server = createSecureServer({ ...tlsServerOptions(tls), allowHTTP1: true }, handler);
  const sessions = new Set<ServerHttp2Session>();
  const http1 = new Map<Socket, number>(); // HTTP/1.1 connection → requests in flight
  let closing = false;
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  server.on("secureConnection", (socket) => {
    if (socket.alpnProtocol === "h2") return;
    http1.set(socket, 0);
    socket.once("close", () => http1.delete(socket));
  });
  server.on(
    "request",
    (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      if (req.httpVersionMajor !== 1) return;
      const socket = req.socket as Socket;
      http1.set(socket, (http1.get(socket) ?? 0) + 1);
      res.once("close", () => {
        const left = (http1.get(socket) ?? 1) - 1;
        if (!http1.has(socket)) return;
        http1.set(socket, left);
        if (closing && left === 0) socket.end();
      });
    },
  );
  const close = () =>
    new Promise<void>((resolve) => {
      closing = true;
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of http1.keys()) socket.destroy();
      }, DRAIN_MS);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const session of sessions) session.close();
      for (const [socket, inFlight] of http1) if (inFlight === 0) socket.end();
    });
  return { server, close };
}
