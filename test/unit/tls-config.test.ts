import { join } from "node:path";
import { expect } from "chai";
import { loadCoreConfig } from "../../core/config.js";
import { loadGatewayConfig } from "../../gateways/config.js";
import { ConfigError, type Env } from "../../lib/env.js";
import { readCoreClientTls, readServerTls } from "../../lib/tls-config.js";
import { isLoopbackHost } from "../../lib/tls-policy.js";
import { makeTestCerts, type TestCerts } from "../support/certs.js";
import { createTestKeys } from "../support/core.js";

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** Every secret a production core needs, so the only problems left are the ones a test causes. */
async function productionCoreEnv(): Promise<Record<string, string>> {
  const [service, stepUp, audit] = await Promise.all([
    createTestKeys(),
    createTestKeys("step-up"),
    createTestKeys("audit"),
  ]);
  return {
    NODE_ENV: "production",
    USER_ID_SALT: "f3b9c1d27e8a4605b1c9d2e7f0a3b4c5d6e7f8091a2b3c4d",
    JWKS: JSON.stringify({ keys: [service.publicJwk] }),
    STEP_UP_OTP_KEY: Buffer.alloc(32, 7).toString("base64"),
    STEP_UP_PRIVATE_JWK: JSON.stringify(stepUp.privateJwk),
    TWILIO_ACCOUNT_SID: `AC${"0f".repeat(16)}`,
    TWILIO_AUTH_TOKEN: "twilio-token",
    TWILIO_SMS_FROM: "+15005550006",
    ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 9).toString("base64")}`,
    AUDIT_CHECKPOINT_JWK: JSON.stringify(audit.privateJwk),
  };
}

/** Every secret a production WhatsApp gateway needs. */
async function productionGatewayEnv(): Promise<Record<string, string>> {
  return {
    NODE_ENV: "production",
    JWT_PRIVATE_JWK: JSON.stringify((await createTestKeys()).privateJwk),
    WHATSAPP_APP_SECRET: "a".repeat(32),
    WHATSAPP_VERIFY_TOKEN: "b".repeat(32),
    WHATSAPP_ACCESS_TOKEN: "c".repeat(64),
    WHATSAPP_PHONE_NUMBER_ID: "106540352242922",
  };
}

describe("TLS config", () => {
  let certs: TestCerts;
  let server: Env;
  before(async () => {
    certs = await makeTestCerts();
    server = { TLS_CERT_FILE: certs.server.certFile, TLS_KEY_FILE: certs.server.keyFile };
  });
  after(() => certs.cleanup());

  const read = (env: Env, clientCa = false) => {
    const problems: string[] = [];
    return { tls: readServerTls(env, problems, { clientCa }), problems };
  };

  describe("readServerTls (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE)", () => {
    it("should load the chain and key as a frozen value, and nothing when neither is set", () => {
      const { tls, problems } = read(server);
      expect(problems).to.deep.equal([]);
      expect(tls).to.deep.equal({
        cert: certs.server.cert.replace(/\n$/, ""),
        key: certs.server.key.replace(/\n$/, ""),
      });
      expect(Object.isFrozen(tls)).to.equal(true);
      expect(read({})).to.deep.equal({ tls: undefined, problems: [] });
    });

    it("should refuse a certificate without its key and a key without its certificate", () => {
      for (const env of [{ TLS_CERT_FILE: certs.server.certFile }, { TLS_KEY_FILE: certs.server.keyFile }]) {
        expect(read(env)).to.deep.equal({
          tls: undefined,
          problems: ["TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither"],
        });
      }
    });

    it("should name a file it cannot read", () => {
      const missing = join(certs.dir, "missing.pem");
      expect(read({ ...server, TLS_CERT_FILE: missing }).problems).to.deep.equal([
        `TLS_CERT_FILE: cannot read ${missing} (ENOENT)`,
      ]);
    });

    it("should refuse a key that is not the certificate's, and a file that holds no certificate", () => {
      expect(read({ ...server, TLS_KEY_FILE: certs.ca.keyFile }).problems).to.deep.equal([
        "TLS_KEY_FILE is not the private key of the certificate in TLS_CERT_FILE",
      ]);
      expect(read({ ...server, TLS_CERT_FILE: certs.server.keyFile }).problems).to.deep.equal([
        "TLS_CERT_FILE must hold a PEM certificate chain (-----BEGIN CERTIFICATE-----), leaf first",
      ]);
      const problems = read({ ...server, TLS_KEY_FILE: certs.server.certFile }).problems;
      expect(problems).to.deep.equal(["TLS_KEY_FILE must hold an unencrypted PEM private key"]);
      expect(problems.join(" ")).to.not.include(certs.server.cert.split("\n")[1]); // no contents echoed
    });

    it("should read TLS_CLIENT_CA_FILE only for the core, and only together with a certificate", () => {
      const withCa = { ...server, TLS_CLIENT_CA_FILE: certs.ca.certFile };
      expect(read(withCa, true).tls?.clientCa).to.equal(certs.ca.cert.replace(/\n$/, ""));
      expect(read(withCa, false).tls).to.not.have.property("clientCa");
      expect(read({ TLS_CLIENT_CA_FILE: certs.ca.certFile }, true).problems).to.deep.equal([
        "TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE: client certificates are asked for over TLS",
      ]);
    });
  });

  describe("readCoreClientTls (CORE_CA_FILE, CORE_CLIENT_CERT_FILE, CORE_CLIENT_KEY_FILE)", () => {
    const readClient = (env: Env) => {
      const problems: string[] = [];
      return { tls: readCoreClientTls(env, problems), problems };
    };

    it("should load the CA alone, or with a client certificate and key", () => {
      expect(readClient({ CORE_CA_FILE: certs.ca.certFile }).tls).to.have.keys(["ca"]);
      const mutual = readClient({
        CORE_CA_FILE: certs.ca.certFile,
        CORE_CLIENT_CERT_FILE: certs.client.certFile,
        CORE_CLIENT_KEY_FILE: certs.client.keyFile,
      });
      expect(mutual.problems).to.deep.equal([]);
      expect(mutual.tls).to.have.keys(["ca", "cert", "key"]);
    });

    it("should refuse a client certificate without CORE_CA_FILE or without its key", () => {
      const client = {
        CORE_CLIENT_CERT_FILE: certs.client.certFile,
        CORE_CLIENT_KEY_FILE: certs.client.keyFile,
      };
      expect(readClient(client).problems).to.deep.equal([
        "CORE_CLIENT_CERT_FILE and CORE_CLIENT_KEY_FILE need CORE_CA_FILE: the core is reached over TLS only then",
      ]);
      expect(
        readClient({ CORE_CA_FILE: certs.ca.certFile, CORE_CLIENT_CERT_FILE: certs.client.certFile })
          .problems,
      ).to.deep.equal(["CORE_CLIENT_CERT_FILE and CORE_CLIENT_KEY_FILE go together: set both or neither"]);
    });
  });

  describe("isLoopbackHost", () => {
    it("should take 127.0.0.0/8, ::1 and localhost as loopback, and nothing else", () => {
      for (const host of [
        "127.0.0.1",
        "127.9.8.7",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
        "localhost",
        "LOCALHOST",
      ]) {
        expect(isLoopbackHost(host), host).to.equal(true);
      }
      for (const host of [
        "0.0.0.0",
        "::",
        "10.0.0.5",
        "128.0.0.1",
        "core.internal",
        "localhost.example",
        "",
      ]) {
        expect(isLoopbackHost(host), host).to.equal(false);
      }
    });
  });

  describe("production plain text (TLS_TERMINATED_BY_PROXY)", () => {
    it("should refuse a core listening on 0.0.0.0 in plain text, naming the way out", async () => {
      const env = await productionCoreEnv();
      const refused = problemsOf(() => loadCoreConfig(env));
      expect(refused).to.have.length(1);
      expect(refused[0]).to.match(
        /^TLS_CERT_FILE and TLS_KEY_FILE are required in production to listen on 0\.0\.0\.0/,
      );
      expect(refused[0]).to.include("TLS_TERMINATED_BY_PROXY=true");
    });

    it("should start a production core with TLS, behind a proxy that says so, or on loopback", async () => {
      const env = await productionCoreEnv();
      expect(loadCoreConfig({ ...env, ...server }).tls).to.not.equal(undefined);
      const proxied = loadCoreConfig({ ...env, TLS_TERMINATED_BY_PROXY: "true" });
      expect(proxied).to.include({ host: "0.0.0.0", tls: undefined });
      expect(loadCoreConfig({ ...env, LISTEN_HOST: "127.0.0.1" }).host).to.equal("127.0.0.1");
    });

    it("should refuse TLS_TERMINATED_BY_PROXY other than true or false", async () => {
      const env = { ...(await productionCoreEnv()), ...server, TLS_TERMINATED_BY_PROXY: "yes" };
      expect(problemsOf(() => loadCoreConfig(env))).to.deep.equal([
        'TLS_TERMINATED_BY_PROXY must be true or false, got "yes"',
      ]);
    });

    it("should refuse a production core given a certificate without its key", async () => {
      const env = {
        ...(await productionCoreEnv()),
        TLS_CERT_FILE: certs.server.certFile,
        LISTEN_HOST: "10.0.0.5",
      };
      const problems = problemsOf(() => loadCoreConfig(env));
      expect(problems).to.include("TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither");
      expect(problems.some((p) => p.includes("to listen on 10.0.0.5"))).to.equal(true);
    });

    it("should refuse a production gateway listening or calling a remote core in plain text", async () => {
      const env = { ...(await productionGatewayEnv()), CORE_URL: "core.internal:8080" };
      const problems = problemsOf(() => loadGatewayConfig(env));
      expect(problems).to.have.length(2);
      expect(problems[0]).to.match(
        /^TLS_CERT_FILE and TLS_KEY_FILE are required in production to listen on 0\.0\.0\.0/,
      );
      expect(problems[1]).to.match(
        /^CORE_CA_FILE is required in production to call the core at core\.internal:8080/,
      );
      expect(problems.every((p) => p.includes("TLS_TERMINATED_BY_PROXY=true"))).to.equal(true);
    });

    it("should start a production gateway with TLS both ways, behind a proxy, or next to its core", async () => {
      const env = { ...(await productionGatewayEnv()), CORE_URL: "core.internal:8080" };
      const secured = loadGatewayConfig({ ...env, ...server, CORE_CA_FILE: certs.ca.certFile });
      expect(secured.tls).to.not.equal(undefined);
      expect(secured.coreTls).to.have.keys(["ca"]);
      expect(loadGatewayConfig({ ...env, TLS_TERMINATED_BY_PROXY: "true" }).coreTls).to.equal(undefined);
      expect(loadGatewayConfig({ ...env, ...server, CORE_URL: "[::1]:8080" }).coreUrl).to.equal("[::1]:8080");
    });
  });
});
