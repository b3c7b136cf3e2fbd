import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { DEMO_PHONE } from "../../bin/seed-demo.js";
import { makeTestCerts, type TestCerts } from "../../test/support/certs.js";
import { type FakeGraph, startFakeGraph } from "../../test/support/fake-graph.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  PHONE_NUMBER_ID,
  sign,
  VERIFY_TOKEN,
  whatsAppText,
} from "../../test/support/gateway.js";
import { Children, type Finished, logLine, type Running } from "../../test/support/teller-process.js";
import {
  buildah,
  freePort,
  IMAGE,
  type ImageConfig,
  type ImageFile,
  imageEnv,
  inImage,
  inspectImage,
  isCheckoutRevision,
  isUnder,
  listImage,
  type MountedImage,
  mountImage,
  numericUser,
  processesRootedAt,
  processIds,
  ROOT,
} from "./image-rig.js";

/**
 * The container image (Containerfile), built by `make image-test` (deploy/image/build.sh --test)
 * and proven here without a container runtime (../shared/containers.md): its filesystem, mounted
 * read-only with a writable folder over DATA_DIR as `docker run --read-only -v …:/data` gives it,
 * runs its entrypoint through chroot as the image's USER on this machine's loopback.
 *
 * The run is `teller dev` with NODE_ENV=development and LISTEN_HOST=127.0.0.1 passed at run time:
 * the embedded defaults (PGlite under DATA_DIR, in-process state) without production's secrets and
 * TLS. That the image itself defaults to production is checked on its own: `teller core` on the
 * image's environment refuses to start without secrets.
 *
 * Not part of `make test` (which finds tests under test/ only): it needs root, buildah and a built
 * image. Run it with `make image-test`, or `mocha deploy/image/image.test.ts` after build.sh --test.
 */

const BUF = join(ROOT, "node_modules/.bin/buf");
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const LOCK = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8")) as {
  packages: Record<string, { dev?: boolean }>;
};
const DATA_DIR = "/data";
const BALANCE_TEXT = "Your balance is 1,250.00 EUR.";
/** The base image's sticky, world-writable temp folders: read-only under --read-only like the rest. */
const TEMP_DIRS = ["/tmp", "/var/tmp", "/run/lock"];
/** Names a secret goes by; none belongs in an image. */
const SECRET_NAME =
  /(^|\/)(\.env(\..+)?|[^/]+\.(pem|key|p12|pfx|jwk)|id_(rsa|ecdsa|ed25519)|dev-secrets\.json)$/;

describe("the container image (Containerfile)", function () {
  this.timeout(120_000);
  const children = new Children();
  let config: ImageConfig;
  let user: { uid: number; gid: number };
  let mounted: MountedImage | undefined;
  let files: ImageFile[];

  /** Runs a command from the image's filesystem as its user, with the image's environment and `env`. */
  function startInImage(command: readonly string[], env: Record<string, string>): Running {
    const line = inImage(config, (mounted as MountedImage).root, command);
    return children.spawn(line.command, line.args, imageEnv(config, env));
  }

  function runInImage(command: readonly string[], env: Record<string, string>): Promise<Finished> {
    return startInImage(command, env).exited;
  }

  /** The image's HEALTHCHECK command line (exec or shell form). */
  function healthcheckCommand(): string[] {
    const [form, ...rest] = config.healthcheck ?? [];
    if (form === "CMD") return rest;
    if (form === "CMD-SHELL") return ["/bin/sh", "-c", rest.join(" ")];
    throw new Error(`the image has no HEALTHCHECK command (${form})`);
  }

  before(async () => {
    if (process.getuid?.() !== 0) throw new Error("the image test mounts and chroots: run it as root");
    config = await inspectImage(IMAGE);
    const numeric = numericUser(config.user);
    if (!numeric) throw new Error(`USER must be a numeric uid:gid, got "${config.user}"`);
    user = numeric;
    mounted = await mountImage(IMAGE, user, DATA_DIR);
    files = listImage(mounted.files);
  });

  after(async () => {
    await children.cleanup();
    const problems = (await mounted?.remove()) ?? [];
    expect(problems, "cleaning up the mounts and the working container").to.deep.equal([]);
  });

  describe("its configuration", () => {
    it("should run as a fixed, numeric non-root uid and gid", () => {
      expect(config.user).to.match(/^\d+:\d+$/);
      expect(user.uid).to.not.equal(0);
      expect(user.gid).to.not.equal(0);
    });

    it("should run the teller entrypoint, `teller core` by default", () => {
      expect(config.entrypoint).to.deep.equal(["teller"]);
      expect(config.cmd).to.deep.equal(["core"]);
    });

    it("should default to production with DATA_DIR=/data as its one volume", () => {
      expect(config.env).to.include({ NODE_ENV: "production", DATA_DIR });
      expect(config.volumes).to.deep.equal([DATA_DIR]);
    });

    it("should keep no build argument or proxy CA setting in its environment or history", () => {
      for (const name of ["VERSION", "REVISION", "SOURCE", "NODE_EXTRA_CA_CERTS"]) {
        expect(config.env, name).to.not.have.property(name);
      }
      expect(config.history).to.not.deep.equal([]);
      expect(config.history.filter((step) => step.includes("NODE_EXTRA_CA_CERTS"))).to.deep.equal([]);
    });

    it("should carry the OCI version, revision and source labels of this checkout", async () => {
      const labels = config.labels;
      expect(labels["org.opencontainers.image.version"], "version").to.equal(PACKAGE.version);
      const revision = labels["org.opencontainers.image.revision"] ?? "";
      const inCheckout = await isCheckoutRevision(revision);
      // Outside a git checkout build.sh has no revision to give.
      if (inCheckout === undefined) expect(revision, "revision").to.equal("unknown");
      else expect(inCheckout, `revision ${revision} is a commit of this checkout`).to.equal(true);
      const source = labels["org.opencontainers.image.source"];
      expect(source, "source label").to.be.a("string").and.not.equal("");
      expect(source, "no credentials in the source label").to.not.match(/\/\/[^/]*@/);
    });

    it("should declare a HEALTHCHECK and expose the documented ports", () => {
      expect(healthcheckCommand()).to.not.deep.equal([]);
      expect(config.exposedPorts).to.include.members(["8080/tcp", "8081/tcp", "9090/tcp", "3000/tcp"]);
    });
  });

  describe("its files", () => {
    it("should hold the production dependencies of the lock file and nothing the lock marks dev", () => {
      const installed = installedPackages((mounted as MountedImage).files, "/app/node_modules");
      const devOnly = installed.filter((key) => LOCK.packages[key]?.dev === true);
      const unknown = installed.filter((key) => LOCK.packages[key] === undefined);
      expect(devOnly, "dev-only packages").to.deep.equal([]);
      expect(unknown, "packages the lock file does not hold").to.deep.equal([]);
      for (const name of Object.keys(PACKAGE.dependencies)) {
        expect(installed, "production dependency").to.include(`node_modules/${name}`);
      }
      // devDependencies the lock needs only for development (all but those a production package also
      // depends on, such as @types/node for protobufjs) are absent by name too.
      const devOnlyDirect = Object.keys(PACKAGE.devDependencies).filter(
        (name) => LOCK.packages[`node_modules/${name}`]?.dev === true,
      );
      expect(devOnlyDirect).to.include.members(["typescript", "mocha", "tsx", "@bufbuild/buf"]);
      expect(installed).to.not.include.members(devOnlyDirect.map((name) => `node_modules/${name}`));
    });

    it("should hold one node_modules, the app's: no package manager", () => {
      const all = files.filter((f) => f.kind === "dir" && f.path.endsWith("/node_modules"));
      const outside = all.map((f) => f.path).filter((path) => !path.startsWith("/app/node_modules/"));
      expect(outside).to.deep.equal(["/app/node_modules"]);
      expect(files.map((f) => f.path)).to.not.include.members(["/usr/local/bin/npm", "/usr/local/bin/npx"]);
    });

    it("should hold compiled code only under /app: no test, bench, TypeScript source or .env", () => {
      const app = readdirSync(join((mounted as MountedImage).files, "app")).sort();
      expect(app).to.deep.equal(["dist", "healthcheck.mjs", "node_modules", "package.json"]);
      const dist = readdirSync(join((mounted as MountedImage).files, "app/dist")).sort();
      expect(dist).to.deep.equal(["bin", "core", "gateways", "gen", "lib"]);
      const ours = files.filter((f) => isUnder(f.path, "/app") && !isUnder(f.path, "/app/node_modules"));
      const offending = ours.filter((f) => /\.test\.|\/(test|bench)(\/|$)|\.ts$/.test(f.path));
      expect(offending.map((f) => f.path)).to.deep.equal([]);
      expect(
        ours.some((f) => f.path === "/app/dist/bin/teller.js"),
        "the CLI is there",
      ).to.equal(true);
    });

    it("should hold no file named like a secret (.env, keys, certificates, dev-secrets.json)", () => {
      expect(files.filter((f) => SECRET_NAME.test(f.path)).map((f) => f.path)).to.deep.equal([]);
    });

    it("should give its user no file outside DATA_DIR, and DATA_DIR alone", () => {
      const owned = files.filter(
        (f) => (f.uid === user.uid || f.gid === user.gid) && !isUnder(f.path, DATA_DIR),
      );
      expect(owned.map((f) => f.path)).to.deep.equal([]);
      const data = files.find((f) => f.path === DATA_DIR);
      expect(data, "DATA_DIR exists").to.not.equal(undefined);
      expect({ uid: data?.uid, gid: data?.gid, mode: data?.mode }).to.deep.equal({
        uid: user.uid,
        gid: user.gid,
        mode: 0o700,
      });
    });

    it("should let its user write nowhere outside DATA_DIR (but the sticky temp folders)", () => {
      const writable = files.filter((f) => {
        if (f.kind === "symlink" || isUnder(f.path, DATA_DIR)) return false;
        const byOwner = f.uid === user.uid && (f.mode & 0o200) !== 0;
        const byGroup = f.gid === user.gid && (f.mode & 0o020) !== 0;
        return byOwner || byGroup || (f.mode & 0o002) !== 0;
      });
      const unexpected = writable.filter(
        (f) => !(TEMP_DIRS.includes(f.path) && f.kind === "dir" && (f.mode & 0o1000) !== 0),
      );
      expect(unexpected.map((f) => `${f.path} ${f.mode.toString(8)}`)).to.deep.equal([]);
    });
  });

  describe("teller core on the image's own environment (production)", () => {
    it("should refuse to start without secrets, naming them, and write nothing", async () => {
      const [adminPort, corePort, connectPort] = [await freePort(), await freePort(), await freePort()];
      const result = await runInImage([...config.entrypoint, "core"], {
        ADMIN_PORT: String(adminPort),
        CORE_PORT: String(corePort),
        CONNECT_PORT: String(connectPort),
      });
      expect(result.code, result.stderr).to.not.equal(0);
      const lines = result.stderr.split("\n").filter((line) => line.startsWith("teller: config: "));
      expect(
        lines.some((line) => line.includes("USER_ID_SALT")),
        result.stderr,
      ).to.equal(true);
      expect(readdirSync((mounted as MountedImage).data)).to.deep.equal([]);
    });
  });

  describe("teller dev run from its filesystem as its user (read-only root, writable DATA_DIR)", () => {
    let dev: Running;
    let graph: FakeGraph;
    const ports = { core: 0, connect: 0, admin: 0, gateway: 0 };

    function startDev(): Running {
      return startInImage([...config.entrypoint, "dev"], {
        NODE_ENV: "development",
        LISTEN_HOST: "127.0.0.1",
        CORE_PORT: String(ports.core),
        CONNECT_PORT: String(ports.connect),
        ADMIN_PORT: String(ports.admin),
        GATEWAY_PORT: String(ports.gateway),
        WHATSAPP_APP_SECRET: APP_SECRET,
        WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
        WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
        WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
        WHATSAPP_API_BASE_URL: graph.baseUrl,
      });
    }

    function healthcheck(): Promise<Finished> {
      return runInImage(healthcheckCommand(), { LISTEN_HOST: "127.0.0.1", ADMIN_PORT: String(ports.admin) });
    }

    function postWhatsApp(body: string, signature: string): Promise<Response> {
      return fetch(`http://127.0.0.1:${ports.gateway}/webhooks/whatsapp`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-hub-signature-256": signature },
        body,
      });
    }

    before(async () => {
      graph = await startFakeGraph({ token: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID, version: "v21.0" });
      ports.core = await freePort();
      ports.connect = await freePort();
      ports.admin = await freePort(true);
      ports.gateway = await freePort();
      dev = startDev();
      await dev.waitFor(
        "the teller dev banner",
        (out) => (out.stderr.includes("HandleMessage") ? true : undefined),
        90_000,
      );
    });

    after(async () => {
      await graph?.close();
    });

    it("should run every process of the image as the image's uid and gid, none as root", () => {
      const pid = dev.child.pid as number;
      expect(processIds(pid), "the started process").to.deep.equal({
        pid,
        uids: [user.uid, user.uid, user.uid, user.uid],
        gids: [user.gid, user.gid, user.gid, user.gid],
        groups: [user.gid],
      });
      const rooted = processesRootedAt((mounted as MountedImage).root);
      expect(rooted.map((p) => p.pid)).to.include(pid);
      const asOthers = rooted.filter(
        (p) =>
          [...p.uids, ...p.gids].some((id) => id !== user.uid && id !== user.gid) || p.groups.includes(0),
      );
      expect(asOthers).to.deep.equal([]);
    });

    it("should answer grpc.health.v1.Health/Check SERVING through buf curl", async () => {
      const result = await children.spawn(
        BUF,
        [
          "curl",
          "--protocol",
          "grpc",
          "--http2-prior-knowledge",
          "--data",
          "{}",
          `http://127.0.0.1:${ports.core}/grpc.health.v1.Health/Check`,
        ],
        process.env,
      ).exited;
      expect(result.code, result.stderr).to.equal(0);
      expect(JSON.parse(result.stdout)).to.deep.equal({ status: "SERVING" });
    });

    it("should report healthy through the image's HEALTHCHECK command", async () => {
      const result = await healthcheck();
      expect(result.code, result.stderr).to.equal(0);
    });

    it("should answer a signed WhatsApp webhook 200 and send the demo customer's balance", async () => {
      const message = whatsAppText(DEMO_PHONE, "what is my balance?");
      const response = await postWhatsApp(message.body, message.signature);
      expect(response.status, await response.text()).to.equal(200);
      const [reply] = await graph.waitFor(1, 30_000);
      expect({ to: reply?.to, text: reply?.text }).to.deep.equal({ to: DEMO_PHONE, text: BALANCE_TEXT });
    });

    it("should refuse a WhatsApp webhook signed with another secret with 401", async () => {
      const message = whatsAppText(DEMO_PHONE, "what is my balance?");
      const response = await postWhatsApp(message.body, sign(message.body, "not-the-app-secret-0123456789"));
      expect(response.status).to.equal(401);
    });

    it("should keep its state (PGlite, development secrets) in DATA_DIR, owned by its user", () => {
      const data = (mounted as MountedImage).data;
      const names = readdirSync(data);
      expect(names).to.include.members(["pglite", "dev-secrets.json"]);
      const stranger = listImage(data, []).filter((f) => f.uid !== user.uid);
      expect(stranger.map((f) => f.path)).to.deep.equal([]);
      expect(statSync(join(data, "dev-secrets.json")).mode & 0o077, "dev secrets private").to.equal(0);
    });

    it("should exit 0 on SIGTERM, after which the HEALTHCHECK reports unhealthy", async () => {
      dev.child.kill("SIGTERM");
      const finished = await dev.exited;
      expect({ code: finished.code, signal: finished.signal }, finished.stderr).to.deep.equal({
        code: 0,
        signal: null,
      });
      const result = await healthcheck();
      expect(result.code).to.equal(1);
    });
  });

  describe("teller core with TLS on its ports, run from its filesystem as its user", () => {
    let certs: TestCerts;
    let core: Running;
    let adminPort: number;
    const tlsEnv = { TLS_CERT_FILE: "/data/tls/server.pem", TLS_KEY_FILE: "/data/tls/server.key" };

    before(async () => {
      certs = await makeTestCerts();
      // The certificate and key reach the process as a secret mount would: a file it alone reads.
      const dir = join((mounted as MountedImage).data, "tls");
      mkdirSync(dir, { mode: 0o700 });
      for (const [from, to] of [
        [certs.server.certFile, "server.pem"],
        [certs.server.keyFile, "server.key"],
      ] as const) {
        copyFileSync(from, join(dir, to));
        chownSync(join(dir, to), user.uid, user.gid);
        chmodSync(join(dir, to), 0o600);
      }
      chownSync(dir, user.uid, user.gid);
      adminPort = await freePort();
      core = startInImage([...config.entrypoint, "core"], {
        ...tlsEnv,
        NODE_ENV: "development",
        LISTEN_HOST: "127.0.0.1",
        CORE_PORT: String(await freePort()),
        CONNECT_PORT: String(await freePort()),
        ADMIN_PORT: String(adminPort),
      });
      await core.waitFor("core listening", (out) => logLine(out.stdout, "core listening"), 90_000);
    });

    after(async () => {
      if (core && !core.done()) {
        core.child.kill("SIGTERM");
        await core.exited;
      }
      await certs?.cleanup();
    });

    it("should report healthy through the image's HEALTHCHECK over HTTPS", async () => {
      const env = { ...tlsEnv, LISTEN_HOST: "127.0.0.1", ADMIN_PORT: String(adminPort) };
      const result = await runInImage(healthcheckCommand(), env);
      expect(result.code, result.stderr).to.equal(0);
      expect(logLine(core.out.stdout, "core listening")).to.have.property("tls", "on");
    });
  });

  describe(".dockerignore", () => {
    const ALLOWED = [
      "bin/teller.ts",
      "core/config.ts",
      "deploy/image/healthcheck.mjs",
      "gateways/main.ts",
      "gen/teller/v1/bank_pb.ts",
      "lib/env.ts",
      "package-lock.json",
      "package.json",
      "tsconfig.build.json",
      "tsconfig.json",
    ];
    const DENIED = [
      ".env",
      ".env.production",
      ".git/config",
      "Containerfile",
      "Makefile",
      "README.md",
      "bench/all.ts",
      "core/tls.key",
      "data/dev-secrets.json",
      "data/pglite/PG_VERSION",
      "deploy/compose.yaml",
      "deploy/image/image.test.ts",
      "deploy/secrets/jwt-private.jwk",
      "gateways/cert.pem",
      "gen/data/x.ts",
      "lib/.env",
      "lib/env.test.ts",
      "lib/node_modules/x/index.js",
      "node_modules/typescript/package.json",
      "test/unit/env.test.ts",
    ];
    const tag = `localhost/teller-context-probe:${process.pid}`;
    let context: string;
    let container: string | undefined;

    after(async () => {
      if (container) await buildah(["rm", container]).catch(() => undefined);
      await buildah(["rmi", tag]).catch(() => undefined);
      if (context) rmSync(context, { recursive: true, force: true });
    });

    it("should let sources and manifests into the build context, and no secret, data, test or node_modules", async () => {
      context = mkdtempSync(join(tmpdir(), "teller-context-"));
      for (const path of [...ALLOWED, ...DENIED]) {
        mkdirSync(dirname(join(context, path)), { recursive: true });
        writeFileSync(join(context, path), "canary\n");
      }
      copyFileSync(join(ROOT, ".dockerignore"), join(context, ".dockerignore"));
      writeFileSync(join(context, "Containerfile"), "FROM scratch\nCOPY . /context/\n");
      await buildah([
        "bud",
        "--isolation",
        "chroot",
        "-f",
        join(context, "Containerfile"),
        "-t",
        tag,
        context,
      ]);
      container = await buildah(["from", "--pull=never", tag]);
      const copied = listImage(join(await buildah(["mount", container]), "context"), [])
        .filter((f) => f.kind === "file")
        .map((f) => f.path.slice(1))
        .sort();
      expect(copied).to.deep.equal(ALLOWED);
    });
  });
});

/** Lock-file keys (node_modules/a, node_modules/a/node_modules/@s/b) of every package under `dir`. */
function installedPackages(files: string, dir: string, prefix = "node_modules"): string[] {
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(files, dir));
  } catch {
    return found;
  }
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const scoped = name.startsWith("@")
      ? readdirSync(join(files, dir, name)).map((n) => `${name}/${n}`)
      : [name];
    for (const pkg of scoped) {
      found.push(`${prefix}/${pkg}`);
      found.push(...installedPackages(files, `${dir}/${pkg}/node_modules`, `${prefix}/${pkg}/node_modules`));
    }
  }
  return found;
}
