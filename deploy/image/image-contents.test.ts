import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import {
  DATA_DIR,
  healthcheckCommand,
  installedPackages,
  LOCK,
  openImage,
  PACKAGE,
} from "./image-fixture.js";
import {
  buildah,
  type ImageConfig,
  type ImageFile,
  isCheckoutRevision,
  isUnder,
  listImage,
  type MountedImage,
  ROOT,
} from "./image-rig.js";

/**
 * What the container image (Containerfile) is, read without running it: its configuration (a
 * numeric non-root USER, the teller entrypoint defaulting to production, DATA_DIR as its one volume,
 * no build argument left behind, this checkout's OCI labels, a HEALTHCHECK and the documented
 * ports), its files (the lock file's production dependencies only, compiled code only, nothing named
 * like a secret, nothing its user may write outside DATA_DIR), and the .dockerignore that keeps
 * secrets, data, tests and node_modules out of any build context.
 *
 * The image is the one `make image-test` builds (deploy/image/build.sh --test), inspected with
 * buildah and mounted (../shared/containers.md); image-run.test.ts proves it runs. Not part of
 * `make test` (which finds tests under test/ only): it needs root, buildah and a built image. Run it
 * with `make image-test`, or `mocha deploy/image/*.test.ts` after build.sh --test.
 */

/** The base image's sticky, world-writable temp folders: read-only under --read-only like the rest. */
const TEMP_DIRS = ["/tmp", "/var/tmp", "/run/lock"];
/** Names a secret goes by; none belongs in an image. */
const SECRET_NAME =
  /(^|\/)(\.env(\..+)?|[^/]+\.(pem|key|p12|pfx|jwk)|id_(rsa|ecdsa|ed25519)|dev-secrets\.json)$/;

describe("the container image (Containerfile)", function () {
  this.timeout(120_000);
  let config: ImageConfig;
  let user: { uid: number; gid: number };
  let mounted: MountedImage | undefined;
  let files: ImageFile[];

  before(async () => {
    const opened = await openImage();
    ({ config, user, mounted } = opened);
    files = listImage(opened.mounted.files);
  });

  after(async () => {
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
      expect(healthcheckCommand(config)).to.not.deep.equal([]);
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
