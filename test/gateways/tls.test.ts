import { expect } from "chai";
import { type Started, startGateways } from "../../bin/processes.js";
import { type ServingCore, serveCore } from "../../core/serve.js";
import { type GatewayConfig, loadGatewayConfig } from "../../gateways/config.js";
import { createCoreClient } from "../../gateways/core-client.js";
import { CoreCallError } from "../../gateways/core-client-port.js";
import { createGateways, type Gateways } from "../../gateways/main.js";
import { systemClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import { readServerTls, type ServerTls } from "../../lib/tls-config.js";
import { makeTestCerts, type TestCerts } from "../support/certs.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN } from "../support/gateway.js";
import {
  httpsGet,
  legacyHandshake,
  PROTOCOL_VERSION_ALERT,
  plainGet,
  weakenProcessTlsDefaults,
} from "../support/tls-probes.js";

const silent = createLogger({ level: "silent" });

describe("gateways over TLS", () => {
  let certs: TestCerts;
  let t: TestCore;
  let tlsCore: ServingCore;
  let mutualCore: ServingCore;
  let restoreDefaults: () => void;
  const opened: { close(): Promise<void> }[] = [];

  /** A gateway config calling `core` with `env` on top (CORE_CA_FILE, client certificate, …). */
  const configFor = (core: ServingCore, env: Record<string, string>): GatewayConfig =>
    loadGatewayConfig({
      GATEWAYS: "whatsapp",
      CORE_URL: `127.0.0.1:${core.corePort}`,
      GATEWAY_PORT: "0",
      ADMIN_PORT: "0",
      JWT_PRIVATE_JWK: JSON.stringify(t.keys.privateJwk),
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      HTTP_TIMEOUT: "3s",
      ...env,
    });

  /** Whether a gateway built from `config` finds the core ready (gateways/main.ts wiring). */
  const coreReady = async (config: GatewayConfig): Promise<boolean> => {
    const gateways: Gateways = createGateways({ config, clock: systemClock, logger: silent });
    opened.push(gateways);
    return (await gateways.ready()).core;
  };

  const handleHello = (config: GatewayConfig) => {
    const client = createCoreClient({
      coreUrl: config.coreUrl,
      privateJwk: config.privateJwk,
      clock: systemClock,
      timeoutMs: config.httpTimeoutMs,
      maxMessageBytes: config.maxBodyBytes,
      tls: config.coreTls,
    });
    opened.push({ close: async () => client.close() });
    const messageId = `wamid.tls-${Math.random().toString(36).slice(2)}`;
    return client.handleMessage(
      { channel: "whatsapp", channelUserId: "+15550001111", messageId, text: "hi" },
      "req-tls",
    );
  };

  before(async () => {
    certs = await makeTestCerts();
    restoreDefaults = weakenProcessTlsDefaults();
    const serverFiles = { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile };
    t = await startTestCore({ state: "memory", database: "pglite" });
    const problems: string[] = [];
    const tls = readServerTls(serverFiles, problems) as ServerTls;
    const mutual = readServerTls({ ...serverFiles, TLS_CLIENT_CA_FILE: certs.ca.certFile }, problems, {
      clientCa: true,
    }) as ServerTls;
    expect(problems).to.deep.equal([]);
    const serve = (serverTls: ServerTls) =>
      serveCore(t.core, {
        host: "127.0.0.1",
        corePort: 0,
        connectPort: 0,
        maxMessageBytes: 1 << 20,
        logger: silent,
        tls: serverTls,
      });
    tlsCore = await serve(tls);
    mutualCore = await serve(mutual);
  });

  after(async () => {
    restoreDefaults?.();
    for (const part of opened.reverse()) await part.close();
    await tlsCore?.close();
    await mutualCore?.close();
    await t?.close();
    await certs?.cleanup();
  });

  describe("core client (CORE_CA_FILE)", () => {
    it("should reach a TLS core through a client that trusts CORE_CA_FILE and get the core's replies", async () => {
      const config = configFor(tlsCore, { CORE_CA_FILE: certs.ca.certFile });
      expect(await coreReady(config)).to.equal(true);
      const answer = await handleHello(config);
      expect(answer.sessionId).to.not.equal("");
      expect(answer.replies.length).to.be.greaterThan(0);
    });

    it("should not reach the core when CORE_CA_FILE names another CA", async () => {
      const config = configFor(tlsCore, { CORE_CA_FILE: certs.otherCa.certFile });
      expect(await coreReady(config)).to.equal(false);
      const failure = await handleHello(config).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).to.be.instanceOf(CoreCallError);
      expect((failure as CoreCallError).code).to.equal(14); // UNAVAILABLE: no TLS session, no call
    });

    it("should not reach a TLS core in plain text (no CORE_CA_FILE)", async () => {
      expect(await coreReady(configFor(tlsCore, {}))).to.equal(false);
    });

    it("should present CORE_CLIENT_CERT_FILE to a core that requires client certificates", async () => {
      const withCert = configFor(mutualCore, {
        CORE_CA_FILE: certs.ca.certFile,
        CORE_CLIENT_CERT_FILE: certs.client.certFile,
        CORE_CLIENT_KEY_FILE: certs.client.keyFile,
      });
      expect(await coreReady(withCert)).to.equal(true);
      expect((await handleHello(withCert)).replies.length).to.be.greaterThan(0);
      expect(await coreReady(configFor(mutualCore, { CORE_CA_FILE: certs.ca.certFile }))).to.equal(false);
    });
  });

  describe("gateway and admin ports (TLS_CERT_FILE)", () => {
    let started: Started<{ gateways: Gateways; port: number }>;

    before(async () => {
      const config = configFor(tlsCore, {
        CORE_CA_FILE: certs.ca.certFile,
        TLS_CERT_FILE: certs.server.certFile,
        TLS_KEY_FILE: certs.server.keyFile,
      });
      started = await startGateways(config, silent);
      opened.push({ close: () => started.stop() });
    });

    it("should answer webhooks over TLS to a client trusting the CA", async () => {
      const query = `hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=4242`;
      const url = `https://localhost:${started.value.port}/webhooks/whatsapp?${query}`;
      expect(await httpsGet(url, { ca: certs.ca.cert })).to.deep.equal({ status: 200, body: "4242" });
    });

    it("should refuse TLS 1.1 and plain HTTP on the gateway port", async () => {
      const port = started.value.port;
      expect(await legacyHandshake(port, certs.ca.cert)).to.deep.equal({ error: PROTOCOL_VERSION_ALERT });
      expect(await plainGet(`http://127.0.0.1:${port}/webhooks/whatsapp`)).to.have.property("error");
    });

    it("should serve /readyz over TLS only, reporting the core reached over TLS", async () => {
      const port = started.admin.port;
      const ready = await httpsGet(`https://localhost:${port}/readyz`, { ca: certs.ca.cert });
      expect(ready).to.have.property("status", 200);
      expect(JSON.parse((ready as { body: string }).body).checks).to.include({ core: true });
      expect(await legacyHandshake(port, certs.ca.cert)).to.deep.equal({ error: PROTOCOL_VERSION_ALERT });
      expect(await plainGet(`http://127.0.0.1:${port}/readyz`)).to.have.property("error");
    });
  });
});
