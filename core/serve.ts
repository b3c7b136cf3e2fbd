import type { Logger } from "../lib/logger.js";
import type { ServerTls } from "../lib/tls-config.js";
import type { Core } from "./main.js";
import { createConnectHandler, listenConnect, listenConnectTls } from "./transport/connect-server.js";
import { createGrpcServer, listenGrpc } from "./transport/grpc-server.js";
import { createHealthService } from "./transport/health.js";

/** Where and how the core listens. Port 0 picks a free port (tests). */
export interface ServeOptions {
  readonly host: string;
  readonly corePort: number;
  readonly connectPort: number;
  readonly maxMessageBytes: number;
  readonly logger: Logger;
  /**
   * TLS of both ports (TLS_CERT_FILE, TLS_KEY_FILE); its client CA (TLS_CLIENT_CA_FILE) asks
   * for client certificates on the gRPC port only. Unset: h2c and plain HTTP/1.1.
   */
  readonly tls?: ServerTls;
}

/** The listening core: the bound ports and a close() that stops accepting and drains calls. */
export interface ServingCore {
  readonly corePort: number;
  readonly connectPort: number;
  close(): Promise<void>;
}

/**
 * Mounts one core on both servers: gRPC (grpc-js, with health and reflection) on CORE_PORT and
 * Connect + gRPC-Web (connect-node) on CONNECT_PORT (DESIGN.md, Transport and speed), over TLS
 * 1.2+ when `options.tls` is given.
 */
export async function serveCore(core: Core, options: ServeOptions): Promise<ServingCore> {
  const health = createHealthService({
    services: core.invoker.services.map((s) => s.typeName),
    check: () => core.ready(),
  });
  const grpcServer = createGrpcServer({
    invoker: core.invoker,
    health,
    maxMessageBytes: options.maxMessageBytes,
    logger: options.logger,
  });
  const corePort = await listenGrpc(grpcServer, options.host, options.corePort, options.tls);
  const handler = createConnectHandler({
    invoker: core.invoker,
    maxMessageBytes: options.maxMessageBytes,
    logger: options.logger,
  });
  const connect = options.tls
    ? await listenConnectTls(handler, options.host, options.connectPort, options.tls)
    : await listenConnect(handler, options.host, options.connectPort);
  return {
    corePort,
    connectPort: connect.port,
    close: async () => {
      await Promise.all([shutdownGrpc(grpcServer), connect.close()]);
    },
  };
}

function shutdownGrpc(server: ReturnType<typeof createGrpcServer>): Promise<void> {
  // tryShutdown lets in-flight calls finish; forceShutdown after 10 s bounds a stuck client.
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), 10_000);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
