import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { expect } from "chai";
import { type ServingCore, serveCore } from "../core/serve.js";
import { HealthCheckResponse_ServingStatus as ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { SessionService } from "../gen/teller/v1/session_service_pb.js";
import { type AdminServer, createAdminHandler, listenAdmin } from "../lib/admin-server.js";
import { createLogger } from "../lib/logger.js";
import { readServerTls, type ServerTls } from "../lib/tls-config.js";
import { makeTestCerts, type TestCerts } from "./support/certs.js";
import { startTestCore, type TestCore } from "./support/core.js";
import {
  grpcHealthCheck,
  httpsGet,
  legacyHandshake,
  PROTOCOL_VERSION_ALERT,
  plainGet,
  tlsHandshake,
  weakenProcessTlsDefaults,
} from "./support/tls-probes.js";

const silent = createLogger({ level: "silent" });

describe("core transport over TLS", () => {
  let certs: TestCerts;
  let t: TestCore;
  let serving: ServingCore;
  let mutual: ServingCore;
  let admin: AdminServer;
  let restoreDefaults: () => void;

  const serve = (tls: ServerTls) =>
    serveCore(t.core, {
      host: "127.0.0.1",
      corePort: 0,
      connectPort: 0,
      maxMessageBytes: 1 << 20,
      logger: silent,
      tls,
    });

  before(async () => {
    certs = await makeTestCerts();
    // Every server below is created with the process's TLS floor at 1.0 (see the first test).
    restoreDefaults = weakenProcessTlsDefaults();
    t = await startTestCore({
      state: "memory",
      database: "pglite",
      env: { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile },
    });
    if (t.config.tls === undefined)
      throw new Error("TLS_CERT_FILE and TLS_KEY_FILE did not reach the config");
    serving = await serve(t.config.tls);
    const problems: string[] = [];
    const env = { ...filesOf(certs), TLS_CLIENT_CA_FILE: certs.ca.certFile };
    mutual = await serve(readServerTls(env, problems, { clientCa: true }) as ServerTls);
    expect(problems).to.deep.equal([]);
    const handler = createAdminHandler({
      registry: t.core.metrics.registry,
      ready: () => t.core.readiness(),
    });
    admin = await listenAdmin(handler, "127.0.0.1", 0, t.config.tls);
  });

  after(async () => {
    restoreDefaults?.();
    await admin?.close();
    await serving?.close();
    await mutual?.close();
    await t?.close();
    await certs?.cleanup();
  });

  it("should run where a server without a floor of its own accepts TLS 1.1", async () => {
    // The control: without it, a refused TLS 1.1 handshake below could be Node's default at work.
    const bare = createHttpsServer({ cert: certs.server.cert, key: certs.server.key });
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      expect(await legacyHandshake(portOf(bare), certs.ca.cert)).to.deep.equal({ protocol: "TLSv1.1" });
    } finally {
      bare.close();
    }
  });

  describe("gRPC port (CORE_PORT)", () => {
    const target = () => `127.0.0.1:${serving.corePort}`;

    it("should answer health Check SERVING to a client trusting the CA", async () => {
      const answer = await grpcHealthCheck(target(), grpc.credentials.createSsl(Buffer.from(certs.ca.cert)));
      expect(answer).to.deep.equal({ status: ServingStatus.SERVING });
    });

    it("should fail a plain-text (h2c) client", async () => {
      const answer = await grpcHealthCheck(target(), grpc.credentials.createInsecure());
      expect(answer).to.deep.equal({ code: grpc.status.UNAVAILABLE });
    });

    it("should fail a client that trusts another CA", async () => {
      const answer = await grpcHealthCheck(
        target(),
        grpc.credentials.createSsl(Buffer.from(certs.otherCa.cert)),
      );
      expect(answer).to.deep.equal({ code: grpc.status.UNAVAILABLE });
    });

    it("should refuse TLS 1.1 with a protocol_version alert and accept TLS 1.2", async () => {
      expect(await legacyHandshake(serving.corePort, certs.ca.cert)).to.deep.equal({
        error: PROTOCOL_VERSION_ALERT,
      });
      const tls12 = await tlsHandshake(serving.corePort, {
        ca: certs.ca.cert,
        maxVersion: "TLSv1.2",
        ALPNProtocols: ["h2"],
      });
      expect(tls12).to.deep.equal({ protocol: "TLSv1.2" });
    });
  });

  describe("Connect port (CONNECT_PORT)", () => {
    const baseUrl = () => `https://localhost:${serving.connectPort}`;

    it("should serve the Connect protocol over HTTP/1.1 and gRPC over HTTP/2 to a client trusting the CA", async () => {
      const headers = { authorization: `Bearer ${await t.token(["conversation"])}` };
      const nodeOptions = { ca: certs.ca.cert };
      const connect = createConnectTransport({ baseUrl: baseUrl(), httpVersion: "1.1", nodeOptions });
      const grpcOverH2 = createGrpcTransport({ baseUrl: baseUrl(), nodeOptions });
      for (const transport of [connect, grpcOverH2]) {
        const stats = await createClient(SessionService, transport).getSessionStats({}, { headers });
        expect(stats.maxSessions).to.equal(t.config.maxSessions);
      }
    });

    it("should refuse TLS 1.1 and plain HTTP", async () => {
      expect(await legacyHandshake(serving.connectPort, certs.ca.cert)).to.deep.equal({
        error: PROTOCOL_VERSION_ALERT,
      });
      expect(await plainGet(`http://127.0.0.1:${serving.connectPort}/`)).to.have.property("error");
    });

    it("should fail a client that trusts another CA", async () => {
      const answer = await httpsGet(`${baseUrl()}/`, { ca: certs.otherCa.cert });
      expect(answer).to.deep.equal({ error: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    });
  });

  describe("admin port (ADMIN_PORT)", () => {
    it("should answer /healthz over TLS to a client trusting the CA", async () => {
      const answer = await httpsGet(`https://localhost:${admin.port}/healthz`, { ca: certs.ca.cert });
      expect(answer).to.deep.equal({ status: 200, body: JSON.stringify({ status: "ok" }) });
    });

    it("should refuse TLS 1.1 and plain HTTP", async () => {
      expect(await legacyHandshake(admin.port, certs.ca.cert)).to.deep.equal({
        error: PROTOCOL_VERSION_ALERT,
      });
      expect(await plainGet(`http://127.0.0.1:${admin.port}/healthz`)).to.have.property("error");
    });
  });

  describe("mutual TLS (TLS_CLIENT_CA_FILE)", () => {
    const target = () => `127.0.0.1:${mutual.corePort}`;
    const ca = () => Buffer.from(certs.ca.cert);

    it("should serve a client presenting a certificate from the client CA", async () => {
      const { key, cert } = certs.client;
      const creds = grpc.credentials.createSsl(ca(), Buffer.from(key), Buffer.from(cert));
      expect(await grpcHealthCheck(target(), creds)).to.deep.equal({ status: ServingStatus.SERVING });
    });

    it("should refuse a client without a certificate", async () => {
      const answer = await grpcHealthCheck(target(), grpc.credentials.createSsl(ca()));
      expect(answer).to.deep.equal({ code: grpc.status.UNAVAILABLE });
    });

    it("should refuse a certificate from another CA", async () => {
      const { key, cert } = certs.strangerClient;
      const creds = grpc.credentials.createSsl(ca(), Buffer.from(key), Buffer.from(cert));
      expect(await grpcHealthCheck(target(), creds)).to.deep.equal({ code: grpc.status.UNAVAILABLE });
    });

    it("should not ask for certificates on the Connect port, which browsers call", async () => {
      const answer = await httpsGet(`https://localhost:${mutual.connectPort}/`, { ca: certs.ca.cert });
      expect(answer).to.have.property("status", 404);
    });
  });
});

function filesOf(certs: TestCerts) {
  return { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile };
}

function portOf(server: HttpsServer): number {
  return (server.address() as AddressInfo).port;
}
