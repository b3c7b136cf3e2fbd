import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import {
  adminServer,
  allReady,
  expectGatewaysAcceptedByCore,
  type Loaded,
  notReady,
} from "./support/deploy-checks.js";
import {
  DEPLOY,
  loadCompose,
  loadRecording,
  makeSecretsDir,
  OPERATOR_SETTINGS,
  type Process,
  readEnvFile,
} from "./support/deploy-manifests.js";

const run = promisify(execFile);

/**
 * deploy/compose.yaml against the code it runs: the real config loaders accept each Teller
 * service's environment and the secret files deploy/README.md has the operator make, and read
 * every variable it sets; ports, secrets, volumes, hardening and the health check follow from that.
 */
describe("deploy/compose.yaml", function () {
  this.timeout(60_000);
  let secrets: Awaited<ReturnType<typeof makeSecretsDir>>;
  // biome-ignore lint/suspicious/noExplicitAny: the parsed compose file.
  let compose: any;
  const loaded = {} as Loaded;

  /** The container path of each secret a service mounts → the local file it comes from. */
  function secretFiles(service: { secrets?: (string | { source: string; target?: string })[] }) {
    const files = new Map<string, string>();
    for (const entry of service.secrets ?? []) {
      const { source, target = source } = typeof entry === "string" ? { source: entry } : entry;
      const file = compose.secrets[source]?.file as string;
      expect(file, source).to.match(/^\.\/secrets\//);
      files.set(
        target.startsWith("/") ? target : `/run/secrets/${target}`,
        join(secrets.dir, basename(file)),
      );
    }
    return files;
  }

  after(() => secrets?.cleanup());

  before(async () => {
    secrets = await makeSecretsDir();
    const vars = await readEnvFile(join(DEPLOY, "compose.env.example"));
    for (const [name, value] of Object.entries(vars)) vars[name] = value || (OPERATOR_SETTINGS[name] ?? "");
    compose = await loadCompose(vars);
    for (const name of ["core", "gateways"] as const) {
      const service = compose.services[name];
      const files = secretFiles(service);
      const env: Record<string, string> = { ...service.environment };
      for (const [key, value] of Object.entries(env)) {
        if (key.endsWith("_FILE")) env[key] = files.get(value) ?? value;
      }
      loaded[service.command[0] as Process] = {
        ...loadRecording(service.command[0], env),
        env,
      } as Loaded[Process];
    }
  });

  it("should start core and gateways in production on their environment and secret files, every variable read", () => {
    for (const { env, read, config } of Object.values(loaded)) {
      expect(config.production).to.equal(true);
      expect(Object.keys(env).filter((name) => !read.has(name))).to.deep.equal([]);
    }
  });

  it("should let the gateways' service tokens and client certificate through to the core", async () => {
    await expectGatewaysAcceptedByCore(loaded.core.config, loaded.gateways.config);
  });

  it("should publish only the gateways' webhook port and the core's two RPC ports", () => {
    const published = (name: string) =>
      ((compose.services[name].ports ?? []) as (string | { target: number })[])
        .map((p) => (typeof p === "string" ? Number(p.split(":").at(-1)?.split("/")[0]) : p.target))
        .sort();
    const { core, gateways } = loaded;
    expect(published("core")).to.deep.equal([core.config.corePort, core.config.connectPort].sort());
    expect(published("gateways")).to.deep.equal([gateways.config.gatewayPort]);
    const others = Object.keys(compose.services).filter((name) => name !== "core" && name !== "gateways");
    expect(others.sort()).to.deep.equal(["postgres", "redis"]);
    for (const name of others) expect(published(name), name).to.deep.equal([]);
  });

  it("should mount every secret it defines, and hand each to its service as a *_FILE path", async () => {
    const made = new Set(await readdir(secrets.dir));
    const mounted = new Set<string>();
    for (const [name, service] of Object.entries<Record<string, unknown>>(compose.services)) {
      const env = (service.environment ?? {}) as Record<string, string>;
      const viaFile = new Set(Object.entries(env).flatMap(([k, v]) => (k.endsWith("_FILE") ? [v] : [])));
      const elsewhere = JSON.stringify([service.command, service.healthcheck]);
      for (const [path, file] of secretFiles(service)) {
        mounted.add(basename(file));
        const teller = name === "core" || name === "gateways";
        expect(viaFile.has(path) || (!teller && elsewhere.includes(path)), `${name} reads ${path}`).to.equal(
          true,
        );
        expect(made.has(basename(file)), `${file} is made by the README's steps`).to.equal(true);
      }
      // The plain form of a secret variable would put its value in the container's environment.
      const plain = Object.keys(env).filter((k) =>
        /(SECRET|TOKEN|KEYS?|SALT|JWKS?|PASSWORD)$|^(REDIS|DATABASE)_URL$/.test(k),
      );
      expect(plain, name).to.deep.equal([]);
    }
    const defined = Object.values<{ file: string }>(compose.secrets).map((s) => basename(s.file));
    expect([...mounted].sort()).to.deep.equal([...new Set(defined)].sort());
  });

  it("should run Teller as uid 10001 on a read-only root with no capabilities, DATA_DIR on a named volume", () => {
    for (const [name, { config }] of Object.entries(loaded)) {
      const service = compose.services[name];
      expect(service.user, name).to.equal("10001:10001");
      expect(service.read_only, name).to.equal(true);
      expect(service.cap_drop, name).to.include("ALL");
      expect(service.security_opt, name).to.include("no-new-privileges:true");
      const [volume, path, ...rest] = (service.volumes as string[]).flatMap((v) => v.split(":"));
      expect([path, rest], name).to.deep.equal([config.dataDir, []]);
      expect(compose.volumes, name).to.have.property(volume as string);
    }
  });

  it("should keep Redis and PostgreSQL on an internal network only", () => {
    for (const name of ["postgres", "redis"]) {
      for (const network of compose.services[name].networks) {
        expect(compose.networks[network]?.internal, `${name} on ${network}`).to.equal(true);
      }
    }
  });

  it("should call a Teller service healthy exactly when its /readyz answers 200, over TLS when it serves TLS", async () => {
    const test = compose.services.core.healthcheck.test as string[];
    expect(compose.services.gateways.healthcheck.test).to.deep.equal(test);
    expect(test.slice(0, 3)).to.deep.equal(["CMD", "node", "-e"]);
    for (const service of Object.values<{ healthcheck?: { test?: unknown } }>(compose.services)) {
      expect(service.healthcheck?.test).to.not.equal(undefined);
    }
    // The check finds the admin port in the container's environment.
    for (const [name, { config }] of Object.entries(loaded)) {
      expect(compose.services[name].environment.ADMIN_PORT, name).to.equal(String(config.adminPort));
    }
    const healthy = async (port: number, tls: boolean) => {
      const env = {
        PATH: process.env.PATH,
        ADMIN_PORT: String(port),
        ...(tls ? { TLS_CERT_FILE: "set" } : {}),
      };
      return run(process.execPath, ["-e", test[3] as string], { env }).then(
        () => true,
        () => false,
      );
    };
    for (const [ready, expected] of [
      [allReady, true],
      [notReady, false],
    ] as const) {
      for (const tls of [loaded.core.config.tls, undefined]) {
        const admin = await adminServer(ready, tls);
        try {
          expect(await healthy(admin.port, tls !== undefined), `tls ${tls !== undefined}`).to.equal(expected);
        } finally {
          await admin.close();
        }
      }
    }
  });
});
