import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, where `bin/teller.ts` runs from. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Variables of the test runner's environment that would override what an end-to-end test means
 * to configure: the embedded defaults of `teller dev`, the development secrets under DATA_DIR, and
 * every WHATSAPP_* setting (a test passes the ones it wants).
 */
const UNSET = [
  "REDIS_URL",
  "REDIS_KEY_PREFIX",
  "DATABASE_URL",
  "USER_ID_SALT",
  "USER_ID_SALT_FILE",
  "JWKS",
  "JWKS_FILE",
  "JWKS_URL",
  "JWT_PRIVATE_JWK",
  "JWT_PRIVATE_JWK_FILE",
  "LISTEN_HOST",
  "LOG_LEVEL",
  "TLS_CERT_FILE",
  "TLS_KEY_FILE",
  "TLS_CLIENT_CA_FILE",
  "CORE_CA_FILE",
  "CORE_CLIENT_CERT_FILE",
  "CORE_CLIENT_KEY_FILE",
  "TLS_TERMINATED_BY_PROXY",
  "CORE_URL",
  "GATEWAYS",
  "HTTP_TIMEOUT",
  "RATE_LIMIT_PER_IP",
  "RATE_LIMIT_PER_SUBJECT",
  "CORS_ORIGINS",
  "TRUST_PROXY",
];

/** The environment of a child: the runner's, without UNSET and WHATSAPP_*, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (UNSET.includes(name) || name.startsWith("WHATSAPP_")) delete env[name];
  }
  return { ...env, ...extra };
}

/** What a finished process left behind. */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running child with the output it wrote so far. */
export interface Running {
  readonly child: ChildProcess;
  /** Everything written so far; grows while the process runs. */
  readonly out: { stdout: string; stderr: string };
  /** Resolves once the process has exited and its streams closed. */
  readonly exited: Promise<Finished>;
  /** Whether the process has exited. */
  done(): boolean;
  /**
   * Polls `find` over the output until it returns a value; rejects with the output when the
   * process exits first or `timeoutMs` passes.
   */
  waitFor<T>(what: string, find: (out: Running["out"]) => T | undefined, timeoutMs?: number): Promise<T>;
  /** Writes to the child's stdin (spawned with `stdin: true`). */
  write(text: string): void;
  /** Ends the child's stdin. */
  endInput(): void;
}

/** Spawns and tracks children so an after hook can kill whatever is still running. */
export class Children {
  readonly #running = new Set<Running>();
  readonly #dirs: string[] = [];

  /** A fresh temporary directory, removed by cleanup(). */
  tempDir(): string {
    const dir = mkdtempSync(join(tmpdir(), "teller-e2e-"));
    this.#dirs.push(dir);
    return dir;
  }

  /** Spawns `node --import tsx bin/teller.ts <args>` in the repository root. */
  teller(args: readonly string[], env: NodeJS.ProcessEnv, options: { stdin?: boolean } = {}): Running {
    return this.spawn(process.execPath, ["--import", "tsx", "bin/teller.ts", ...args], env, options);
  }

  /** Spawns a command in the repository root, collecting its output. */
  spawn(
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    options: { stdin?: boolean } = {},
  ): Running {
    const child = spawn(command, args, {
      cwd: ROOT,
      env,
      stdio: [options.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const out = { stdout: "", stderr: "" };
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out.stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      out.stderr += chunk;
    });
    let finished = false;
    const exited = new Promise<Finished>((resolveExit, reject) => {
      child.once("error", reject);
      child.once("close", (code, signal) => {
        finished = true;
        this.#running.delete(running);
        resolveExit({ code, signal, ...out });
      });
    });
    // A rejection nobody awaited yet must not become an unhandled one; waitFor reports it.
    exited.catch(() => {});
    const running: Running = {
      child,
      out,
      exited,
      done: () => finished,
      waitFor: (what, find, timeoutMs = 60_000) => waitForOutput(running, what, find, timeoutMs),
      write: (text) => {
        child.stdin?.write(text);
      },
      endInput: () => {
        child.stdin?.end();
      },
    };
    this.#running.add(running);
    return running;
  }

  /** SIGKILLs every child still running, waits for them, and removes the temporary directories. */
  async cleanup(): Promise<void> {
    const left = [...this.#running];
    for (const running of left) running.child.kill("SIGKILL");
    await Promise.all(left.map((running) => running.exited.catch(() => undefined)));
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForOutput<T>(
  running: Running,
  what: string,
  find: (out: Running["out"]) => T | undefined,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find(running.out);
    if (found !== undefined) return found;
    if (running.done()) {
      const { code, signal } = await running.exited;
      throw new Error(`exited (${code ?? signal}) before ${what}:\n${dump(running.out)}`);
    }
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${dump(running.out)}`);
    await delay(50);
  }
}

/** Resolves with the process's end, or rejects when it has not exited within `timeoutMs`. */
export async function exitWithin(running: Running, timeoutMs: number): Promise<Finished> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms:\n${dump(running.out)}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([running.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value other than undefined; rejects after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await delay(50);
  }
}

/** The first JSON log line (pino) whose msg is `msg`, parsed; undefined until one is written. */
export function logLine(text: string, msg: string): Record<string, unknown> | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      if (record.msg === msg) return record;
    } catch {
      // A line still being written: the next poll sees it whole.
    }
  }
  return undefined;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms));
}

function dump(out: { stdout: string; stderr: string }): string {
  return `--- stdout\n${out.stdout.slice(-4000)}\n--- stderr\n${out.stderr.slice(-4000)}`;
}
