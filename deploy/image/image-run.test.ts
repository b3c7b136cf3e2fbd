import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
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
import { healthcheckCommand, openImage } from "./image-fixture.js";
import {
  freePort,
  type ImageConfig,
  imageEnv,
  inImage,
  listImage,
  type MountedImage,
  processesRootedAt,
  processIds,
  ROOT,
} from "./image-rig.js";

/**
 * That the container image (Containerfile) runs as it is meant to: `teller core` on the image's own
 * environment refuses to start without production's secrets; `teller dev` runs every process as
 * the image's user, answers gRPC health, its HEALTHCHECK and a signed WhatsApp webhook, keeps its
 * state in DATA_DIR and exits 0 on SIGTERM; `teller core` serves TLS from a mounted certificate.
 *
 * Proven without a container runtime (../shared/containers.md): the image `make image-test` builds
 * (deploy/image/build.sh --test) is mounted read-only with a writable folder over DATA_DIR, as
 * `docker run --read-only -v …:/data` gives it, and its entrypoint runs through chroot as the
 * image's USER on this machine's loopback. The dev run passes NODE_ENV=development and
 * LISTEN_HOST=127.0.0.1 at run time: the embedded defaults (PGlite under DATA_DIR, in-process
 * state) without production's secrets and TLS. image-contents.test.ts proves what the image holds.
 *
 * Not part of `make test` (which finds tests under test/ only): it needs root, buildah and a built
 * image. Run it with `make image-test`, or `mocha deploy/image/*.test.ts` after build.sh --test.
 */

const BUF = join(ROOT, "node_modules/.bin/buf");
const BALANCE_TEXT = "Your balance is 1,250.00 EUR.";

describe("the container image (Containerfile)", function () {
  this.timeout(120_000);
  const children = new Children();
  let config: ImageConfig;
  let user: { uid: number; gid: number };
  let mounted: MountedImage | undefined;

  /** Runs a command from the image's filesystem as its user, with the image's environment and `env`. */
  function startInImage(command: readonly string[], env: Record<string, string>): Running {
    const line = inImage(config, (mounted as MountedImage).root, command);
    return children.spawn(line.command, line.args, imageEnv(config, env));
  }

  function runInImage(command: readonly string[], env: Record<string, string>): Promise<Finished> {
    return startInImage(command, env).exited;
  }

  before(async () => {
    ({ config, user, mounted } = await openImage());
  });

  after(async () => {
    await children.cleanup();
    const problems = (await mounted?.remove()) ?? [];
    expect(problems, "cleaning up the mounts and the working container").to.deep.equal([]);
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
      return runInImage(healthcheckCommand(config), {
        LISTEN_HOST: "127.0.0.1",
        ADMIN_PORT: String(ports.admin),
      });
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
      const result = await runInImage(healthcheckCommand(config), env);
      expect(result.code, result.stderr).to.equal(0);
      expect(logLine(core.out.stdout, "core listening")).to.have.property("tls", "on");
    });
  });
});
