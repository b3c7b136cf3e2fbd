import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { decodeProtectedHeader, exportJWK, generateKeyPair } from "jose";
import { DEMO_PHONE } from "../../bin/seed-demo.js";
import { childEnv } from "../support/teller-process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BUF = join(ROOT, "node_modules/.bin/buf");
const BANNER_TIMEOUT_MS = 60_000;
const BALANCE_TEXT = "Your balance is 1,250.00 EUR.";

/** What a finished process left behind. */
interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running `teller dev` and what its banner said. */
interface DevProcess {
  readonly child: ChildProcess;
  readonly corePort: number;
  readonly connectPort: number;
  readonly banner: string;
  readonly exited: Promise<Finished>;
}

describe("teller dev (the CLI as a process, embedded PGlite and in-process state)", function () {
  this.timeout(120_000);
  const children = new Set<ChildProcess>();
  const dirs: string[] = [];
  let dataDir: string;
  let dev: DevProcess;

  function freshDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "teller-e2e-"));
    dirs.push(dir);
    return dir;
  }

  /** Spawns a command in the repository root, collecting its output; resolves once it exits. */
  function start(command: string, args: string[], env: NodeJS.ProcessEnv) {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    const out = { stdout: "", stderr: "" };
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out.stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      out.stderr += chunk;
    });
    const exited = new Promise<Finished>((resolveExit, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => {
        children.delete(child);
        resolveExit({ code, signal, ...out });
      });
    });
    return { child, out, exited };
  }

  /** Runs a command to completion. */
  function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Finished> {
    return start(command, args, env).exited;
  }

  function teller(args: string[], env: Record<string, string>): Promise<Finished> {
    return run(process.execPath, ["--import", "tsx", "bin/teller.ts", ...args], childEnv(env));
  }

  /** Starts `teller dev` on dataDir and waits for its banner (ports and demo phone). */
  async function startDev(dir: string): Promise<DevProcess> {
    const env = childEnv({ DATA_DIR: dir, CORE_PORT: "0", CONNECT_PORT: "0", NODE_ENV: "development" });
    const { child, out, exited } = start(process.execPath, ["--import", "tsx", "bin/teller.ts", "dev"], env);
    const deadline = Date.now() + BANNER_TIMEOUT_MS;
    for (;;) {
      const core = /gRPC \(grpc-js, reflection, health\): 127\.0\.0\.1:(\d+)/.exec(out.stderr);
      const connect = /Connect and gRPC-Web:\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out.stderr);
      if (core && connect && out.stderr.includes(DEMO_PHONE) && out.stderr.includes("HandleMessage")) {
        return {
          child,
          corePort: Number(core[1]),
          connectPort: Number(connect[1]),
          banner: out.stderr,
          exited,
        };
      }
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`teller dev exited early (${child.exitCode ?? child.signalCode}):\n${out.stderr}`);
      }
      if (Date.now() > deadline) {
        child.kill("SIGKILL");
        throw new Error(`no banner from teller dev within ${BANNER_TIMEOUT_MS} ms:\n${out.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function token(dir: string, scopes: string): Promise<string> {
    const result = await teller(["token", "--scopes", scopes], { DATA_DIR: dir, NODE_ENV: "development" });
    expect(result.code, result.stderr).to.equal(0);
    return result.stdout.trim();
  }

  /** POSTs JSON to a Connect route of the dev process. */
  async function connectJson(port: number, path: string, body: unknown, bearer: string) {
    const response = await fetch(`http://127.0.0.1:${port}/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const askBalance = (messageId: string) => ({
    channel: "CHANNEL_WHATSAPP",
    channelUserId: DEMO_PHONE,
    messageId,
    text: "what is my balance?",
  });

  async function stop(running: DevProcess): Promise<Finished> {
    running.child.kill("SIGTERM");
    return running.exited;
  }

  before(async () => {
    dataDir = freshDir();
    dev = await startDev(dataDir);
  });

  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("should print the bound ports, the demo phone and its 1,250.00 EUR balance", () => {
    expect(dev.corePort).to.be.greaterThan(0);
    expect(dev.connectPort).to.be.greaterThan(0).and.not.equal(dev.corePort);
    expect(dev.banner).to.include(`WhatsApp ${DEMO_PHONE}`);
    expect(dev.banner).to.match(/account acc_[A-Za-z0-9_-]+: 1,250\.00 EUR/);
    expect(dev.banner).to.include(
      `http://127.0.0.1:${dev.corePort}/teller.v1.ConversationService/HandleMessage`,
    );
  });

  it("should list the teller services and health through reflection with buf curl", async () => {
    const result = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "--list-services",
      `http://127.0.0.1:${dev.corePort}`,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const services = result.stdout.split("\n").map((line) => line.trim());
    expect(services).to.include.members([
      "teller.v1.ConversationService",
      "teller.v1.CustomerService",
      "grpc.health.v1.Health",
    ]);
  });

  it("should answer the banner's buf curl HandleMessage with the demo balance", async () => {
    const data = /--data '([^']+)'/.exec(dev.banner)?.[1];
    expect(data, "the banner shows a --data example").to.be.a("string");
    expect(JSON.parse(data as string)).to.deep.include({
      channel: "CHANNEL_WHATSAPP",
      channel_user_id: DEMO_PHONE,
      text: "what is my balance?",
    });
    const bearer = await token(dataDir, "conversation");
    const result = await run(BUF, [
      "curl",
      "--protocol",
      "grpc",
      "--http2-prior-knowledge",
      "-H",
      `authorization: Bearer ${bearer}`,
      "--data",
      data as string,
      `http://127.0.0.1:${dev.corePort}/teller.v1.ConversationService/HandleMessage`,
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const response = JSON.parse(result.stdout) as { replies: { text: string }[] };
    expect(response.replies[0]?.text).to.equal(BALANCE_TEXT);
  });

  it("should answer the same balance through the Connect port with JSON", async () => {
    const bearer = await token(dataDir, "conversation");
    const res = await connectJson(
      dev.connectPort,
      "teller.v1.ConversationService/HandleMessage",
      askBalance("connect-1"),
      bearer,
    );
    expect(res.status).to.equal(200);
    expect(res.body).to.have.nested.property("replies[0].text", BALANCE_TEXT);
  });

  it("should exit 0 on SIGTERM and keep the balance across a restart on the same DATA_DIR, seeding once", async () => {
    const first = await stop(dev);
    expect({ code: first.code, signal: first.signal }, first.stderr).to.deep.equal({ code: 0, signal: null });
    dev = await startDev(dataDir);
    expect(dev.banner).to.match(/account acc_[A-Za-z0-9_-]+: 1,250\.00 EUR/);
    const bearer = await token(dataDir, "conversation,banking:read");
    const answer = await connectJson(
      dev.connectPort,
      "teller.v1.ConversationService/HandleMessage",
      askBalance("after-restart-1"),
      bearer,
    );
    expect(answer.status).to.equal(200);
    expect(answer.body).to.have.nested.property("replies[0].text", BALANCE_TEXT);
    const accountId = /account (acc_[A-Za-z0-9_-]+):/.exec(dev.banner)?.[1];
    const postings = await connectJson(
      dev.connectPort,
      "teller.v1.BankingService/ListTransactions",
      { accountId },
      bearer,
    );
    expect(postings.status).to.equal(200);
    expect(postings.body.transactions).to.have.length(1);
    const second = await stop(dev);
    expect({ code: second.code, signal: second.signal }, second.stderr).to.deep.equal({
      code: 0,
      signal: null,
    });
  });

  describe("teller token", () => {
    it("should exit 2 for an unknown scope", async () => {
      const result = await teller(["token", "--scopes", "nope"], {
        DATA_DIR: freshDir(),
        NODE_ENV: "development",
      });
      expect(result.code).to.equal(2);
      expect(result.stdout).to.equal("");
      expect(result.stderr).to.include("--scopes");
    });

    it("should sign with the key in JWT_PRIVATE_JWK_FILE, as a mounted secret gives it", async () => {
      const dir = freshDir();
      const { privateKey } = await generateKeyPair("ES256", { extractable: true });
      const jwk = { ...(await exportJWK(privateKey)), kid: "mounted-key", alg: "ES256" };
      const file = join(dir, "jwt-private.jwk");
      writeFileSync(file, `${JSON.stringify(jwk)}\n`);
      const result = await teller(["token", "--scopes", "conversation"], {
        DATA_DIR: dir,
        NODE_ENV: "production",
        JWT_PRIVATE_JWK_FILE: file,
      });
      expect(result.code, result.stderr).to.equal(0);
      expect(decodeProtectedHeader(result.stdout.trim()).kid).to.equal("mounted-key");
    });
  });

  describe("teller core", () => {
    it("should refuse to start in production without secrets, one config line per problem", async () => {
      const dir = freshDir();
      const result = await teller(["core"], {
        NODE_ENV: "production",
        DATA_DIR: dir,
        CORE_PORT: "0",
        CONNECT_PORT: "0",
      });
      expect(result.code).to.not.equal(0);
      expect(result.code).to.not.equal(null);
      const lines = result.stderr.split("\n").filter((line) => line.startsWith("teller: config: "));
      expect(lines, result.stderr).to.have.length(8);
      for (const name of [
        "USER_ID_SALT",
        "JWKS",
        "STEP_UP_OTP_KEY",
        "STEP_UP_PRIVATE_JWK",
        "TWILIO_ACCOUNT_SID",
        "ENCRYPTION_KEYS",
        "AUDIT_CHECKPOINT_JWK",
        // Plain text on 0.0.0.0 (the production default) needs TLS or the proxy opt-in.
        "TLS_TERMINATED_BY_PROXY",
      ]) {
        expect(
          lines.filter((line) => line.includes(name)),
          name,
        ).to.have.length(1);
      }
      expect(existsSync(join(dir, "dev-secrets.json")), "no development secrets in production").to.equal(
        false,
      );
    });
  });
});
