import { createSecureContext } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { CoreClientTls, ServerTls } from "./tls-config.js";
import { MIN_TLS_VERSION, tlsServerOptions } from "./tls-listen.js";

/**
 * grpc-js server credentials with TLS 1.2 as the floor. `ServerCredentials.createSsl` takes no
 * TLS version (grpc-js 1.14) and so inherits Node's process-wide default, which
 * `--tls-min-v1.0` lowers. The public ServerCredentials constructor takes the options grpc-js
 * spreads into `http2.createSecureServer` (server.ts, createHttp2Server), so this subclass hands
 * it tlsServerOptions: the chain, the key, `minVersion`, and for mutual TLS the client CA with
 * `requestCert` and `rejectUnauthorized`. test/tls.test.ts proves the floor holds on the wire.
 */
class TlsServerCredentials extends grpc.ServerCredentials {
  constructor(tls: ServerTls) {
    const { cert, key, ca, ...serverOptions } = tlsServerOptions(tls);
    super(serverOptions, { cert, key, ca });
  }

  /** grpc-js compares credentials only to reuse a bound port; each instance is its own. */
  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** The credentials of the core's gRPC port: TLS (mutual with a client CA) or insecure (h2c). */
export function grpcServerCredentials(tls?: ServerTls): grpc.ServerCredentials {
  return tls === undefined ? grpc.ServerCredentials.createInsecure() : new TlsServerCredentials(tls);
}

/**
 * The credentials of a gRPC client of the core: TLS trusting only `tls.ca` (not the system
 * roots), presenting the client certificate when one is configured, TLS 1.2 at least, the
 * core's name checked against CORE_URL's host; insecure (h2c) without `tls`. Built from a
 * SecureContext, the grpc-js way to pass node:tls options (gRFC L93).
 */
export function grpcChannelCredentials(tls?: CoreClientTls): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const context = createSecureContext({
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    minVersion: MIN_TLS_VERSION,
  });
  return grpc.credentials.createFromSecureContext(context);
}
