import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type RequestListener, type Server } from "node:http";
import { createInterface, type Interface } from "node:readline";
import { processCpuMs } from "./process-cpu.js";

/**
 * Server processes of the benchmarks. Each server runs in a child `node --import tsx <script>` so
 * that the load generator and the server under test do not share one event loop or CPU, as a
 * gateway and the core don't in production. The protocol is small: the child prints one JSON line
 * `{"port": n, ...}` on stdout when it listens, and shuts down cleanly when its stdin closes. A
 * child that counts something answers each `stats` line on its stdin with one JSON line.
 */

/** A running server child: its port, what else it announced, its CPU time, and stop(). */
export interface ChildServer {
  readonly name: string;
  readonly port: number;
  /** The child's process id (CPU profiles are named after it). */
  readonly pid: number;
  /** The whole JSON line the child announced (port plus anything else it reports). */
  readonly announced: Readonly<Record<string, unknown>>;
  /** CPU time (user + system) the child process has used so far, in milliseconds. */
  cpuMs(): number;
  /** Asks the child for its counters (see announceAndAwaitStop's `stats`); rejects after 10 s. */
  stats(): Promise<Record<string, unknown>>;
  /** Closes the child's stdin, waits for its clean exit (killing it after `graceMs`); resolves with its exit code. */
  stop(graceMs?: number): Promise<number>;
}

/** How long a child may take to start (seeding 1,000 customers included) before it is killed. */
const START_TIMEOUT_MS = 180_000;

/**
 * Spawns `node --import tsx <script>` with `env` added to this process's environment and resolves
 * once it announces its port. stderr is inherited so a child's warnings and failures are visible.
 */
export async function startChildServer(
  name: string,
  script: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server, to see where a call spends its time.
  const profile = process.env.BENCH_CPU_PROF
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let announced: Record<string, unknown>;
  try {
    announced = await readAnnouncement(name, lines, exited);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    name,
    port: Number(announced.port),
    pid: child.pid as number,
    announced,
    cpuMs: () => processCpuMs(child.pid),
    stats: () => askStats(name, child, lines),
    stop: (graceMs = 30_000) => stopChild(child, exited, graceMs),
  };
}

function askStats(name: string, child: ChildProcess, lines: Interface): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no stats within 10 s`)), 10_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as Record<string, unknown>);
      } catch (err) {
        reject(new Error(`${name}: expected a JSON stats line, got ${JSON.stringify(line)}`, { cause: err }));
      }
    });
    child.stdin?.write("stats\n");
  });
}

function readAnnouncement(
  name: string,
  lines: Interface,
  exited: Promise<number>,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name}: no port announced within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    lines.once("line", (line) => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (typeof parsed.port !== "number") throw new Error("no port");
        resolve(parsed);
      } catch (err) {
        reject(
          new Error(`${name}: expected {"port": n} on stdout, got ${JSON.stringify(line)}`, { cause: err }),
        );
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name}: exited with code ${code} before announcing its port`));
    });
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number>, graceMs: number): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/**
 * The child's half of the protocol: prints `announcement` as one JSON line on stdout, answers
 * each `stats` line on stdin with `stats()` as one JSON line, then resolves when the parent closes
 * stdin (its way of saying stop) or sends SIGTERM / SIGINT.
 */
export function announceAndAwaitStop(
  announcement: { port: number } & Record<string, unknown>,
  stats: () => Record<string, unknown> = () => ({}),
): Promise<void> {
  process.stdout.write(`${JSON.stringify(announcement)}\n`);
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "stats") process.stdout.write(`${JSON.stringify(stats())}\n`);
  });
  return new Promise((resolve) => {
    process.stdin.once("end", () => resolve());
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
}

/** The child's HTTP server: `handler` listening on a free port of 127.0.0.1, as bin/ listens on its own. */
export function listenOnLoopback(handler: RequestListener): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(handler);
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** Stops accepting, closes idle keep-alive connections, and resolves once the server has closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
