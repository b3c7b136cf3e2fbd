import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import tls from "node:tls";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckRequestSchema,
  type HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "../../gen/grpc/health/v1/health_pb.js";

/** How a TLS handshake ended: the negotiated version, or the error code the client saw. */
export type Handshake = { readonly protocol: string } | { readonly error: string };

/** Opens a TLS connection to 127.0.0.1:port with `options`, reports how it ended and closes it. */
export function tlsHandshake(port: number, options: tls.ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ...options });
    socket.once("secureConnect", () => {
      resolve({ protocol: socket.getProtocol() ?? "unknown" });
      socket.end();
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

/**
 * A handshake that offers TLS 1.0 and 1.1 only, with OpenSSL's security level 0 so the client
 * side really offers them (OpenSSL 3 refuses them at level 1 and above on its own).
 */
export function legacyHandshake(port: number, ca: string, extra: tls.ConnectionOptions = {}) {
  return tlsHandshake(port, {
    ca,
    minVersion: "TLSv1",
    maxVersion: "TLSv1.1",
    ciphers: "DEFAULT@SECLEVEL=0",
    ...extra,
  });
}

/** The alert a server sends when it will not speak the offered version, as Node names it. */
export const PROTOCOL_VERSION_ALERT = "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION";

/**
 * Lowers Node's process-wide TLS floor to 1.0 (as `--tls-min-v1.0` would) and OpenSSL's security
 * level to 0 for servers created until the returned function restores them. A server that still
 * refuses TLS 1.1 then does so because it sets its own minimum, not because of the defaults.
 */
export function weakenProcessTlsDefaults(): () => void {
  const saved = { minVersion: tls.DEFAULT_MIN_VERSION, ciphers: tls.DEFAULT_CIPHERS };
  tls.DEFAULT_MIN_VERSION = "TLSv1";
  tls.DEFAULT_CIPHERS = "DEFAULT@SECLEVEL=0";
  return () => {
    tls.DEFAULT_MIN_VERSION = saved.minVersion;
    tls.DEFAULT_CIPHERS = saved.ciphers;
  };
}

/** A response, or the code of the error that stopped the request. */
export type HttpOutcome = { readonly status: number; readonly body: string } | { readonly error: string };

/** GET over https trusting `options.ca` (and presenting a client certificate when given). */
export function httpsGet(url: string, options: tls.ConnectionOptions): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ...options, agent: false, servername: "localhost" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/** GET in plain HTTP/1.1, as a client that does not know the port wants TLS. */
export function plainGet(url: string): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: "" }));
    });
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

/** grpc.health.v1 Check of the whole server: its status, or the gRPC code of the failure. */
export function grpcHealthCheck(
  target: string,
  credentials: grpc.ChannelCredentials,
): Promise<{ status: HealthCheckResponse_ServingStatus } | { code: grpc.status }> {
  const client = new grpc.Client(target, credentials);
  const method = Health.method.check;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${Health.typeName}/${method.name}`,
      (m: HealthCheckRequest) => Buffer.from(toBinary(HealthCheckRequestSchema, m)),
      (b: Buffer) => fromBinary(HealthCheckResponseSchema, b),
      create(HealthCheckRequestSchema, { service: "" }),
      new grpc.Metadata(),
      { deadline: Date.now() + 5_000 },
      (err, res) => {
        client.close();
        resolve(err || !res ? { code: err?.code ?? grpc.status.UNKNOWN } : { status: res.status });
      },
    );
  });
}
