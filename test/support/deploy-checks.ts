import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { Registry } from "prom-client";
import type { CoreConfig } from "../../core/config.js";
import type { GatewayConfig } from "../../gateways/config.js";
import {
  type AdminServer,
  createAdminHandler,
  listenAdmin,
  type ReadyReport,
} from "../../lib/admin-server.js";
import { systemClock } from "../../lib/clock.js";
import { createServiceTokenVerifier, mintServiceToken } from "../../lib/service-token.js";
import type { ServerTls } from "../../lib/tls-config.js";
import { grpcChannelCredentials, grpcServerCredentials } from "../../lib/tls-grpc.js";
import type { Process } from "./deploy-manifests.js";

/** The config each process of a manifest loaded, the variable names its loader read, and its env. */
export type Loaded = Record<
  Process,
  { config: CoreConfig & GatewayConfig; read: Set<string>; env: Record<string, string> }
>;

/** Readiness answers of a process whose Redis is down, and of one whose dependencies all answer. */
export const notReady = async (): Promise<ReadyReport> => ({ redis: false });
export const allReady = async (): Promise<ReadyReport> => ({ redis: true });

/** A real admin server (lib/admin-server.ts) on a free port, whose readiness is `ready`. */
export function adminServer(ready: () => Promise<ReadyReport>, tls?: ServerTls): Promise<AdminServer> {
  return listenAdmin(createAdminHandler({ registry: new Registry(), ready }), "127.0.0.1", 0, tls);
}

/**
 * Checks that the deployed gateways can call the deployed core: a service token signed with the
 * gateways' key passes the core's JWKS, and a grpc-js client built from the gateways' TLS settings
 * connects to a grpc-js server built from the core's, with the host name of CORE_URL (so the core's
 * certificate must name it and the core must accept the gateways' client certificate). A client
 * without that certificate must be turned away: the core's gRPC port is mutual TLS.
 */
export async function expectGatewaysAcceptedByCore(core: CoreConfig, gateways: GatewayConfig): Promise<void> {
  const token = await mintServiceToken({
    privateJwk: gateways.privateJwk,
    subject: "gateway",
    scopes: ["conversation"],
    ttlSeconds: 60,
    clock: systemClock,
  });
  const identity = await createServiceTokenVerifier(core.verificationKeys, systemClock)(token);
  expect(identity.subject).to.equal("gateway");
  expect(core.tls?.clientCa, "TLS_CLIENT_CA_FILE").to.be.a("string");
  const host = gateways.coreUrl.slice(0, gateways.coreUrl.lastIndexOf(":"));
  const server = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpcServerCredentials(core.tls), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  try {
    expect(await connects(port, host, grpcChannelCredentials(gateways.coreTls)), "gateways → core").to.equal(
      true,
    );
    const anonymous = grpcChannelCredentials({ ca: gateways.coreTls?.ca as string });
    expect(await connects(port, host, anonymous), "a client without certificate").to.equal(false);
  } finally {
    server.forceShutdown();
  }
}

/**
 * Whether a grpc-js channel to 127.0.0.1:port, checking the certificate for `host`, becomes READY
 * (true) or fails to connect (false). It follows the channel's states instead of waiting out a
 * deadline, so a refused handshake answers as soon as it happens.
 */
function connects(port: number, host: string, credentials: grpc.ChannelCredentials): Promise<boolean> {
  const client = new grpc.Client(`127.0.0.1:${port}`, credentials, {
    "grpc.ssl_target_name_override": host,
    "grpc.default_authority": host,
  });
  const channel = client.getChannel();
  const deadline = Date.now() + 15_000;
  return new Promise((resolve) => {
    const finish = (ok: boolean) => {
      client.close();
      resolve(ok);
    };
    const follow = (state: grpc.connectivityState) => {
      if (state === grpc.connectivityState.READY) return finish(true);
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) return finish(false);
      channel.watchConnectivityState(state, deadline, (err) =>
        err ? finish(false) : follow(channel.getConnectivityState(false)),
      );
    };
    follow(channel.getConnectivityState(true));
  });
}
