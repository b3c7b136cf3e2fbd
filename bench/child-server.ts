import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/**
 * Server processes of the benchmarks. Each server runs in a child `node --import tsx <script>` so
 * that the load generator and the server under test do not share one event loop or CPU, as a
 * gateway and the core don't in production. The protocol is small: the child prints one JSON line
 * `{"port": n, ...}` on stdout when it listens, and shuts down cleanly when its stdin closes.
 */

/** A running server child: its port, what else it announced, its CPU time, and stop(). */
export interface ChildServer {
  readonly name: string;
  readonly port: number;
  /** The whole JSON line the child announced (port plus anything else it reports). */
  readonly announced: Readonly<Record<string, unknown>>;
  /** CPU time (user + system) the child process has used so far, in milliseconds. */
  cpuMs(): number;
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
  let announced: Record<string, unknown>;
  try {
    announced = await readAnnouncement(name, child, exited);
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  return {
    name,
    port: Number(announced.port),
    announced,
    cpuMs: () => processCpuMs(child.pid),
    stop: (graceMs = 30_000) => stopChild(child, exited, graceMs),
  };
}

function readAnnouncement(
  name: string,
  child: ChildProcess,
  exited: Promise<number>,
): Promise<Record<string, unknown>> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
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

/** CPU time of a process from /proc/<pid>/stat (utime + stime, fields 14 and 15); NaN off Linux. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    // No procfs (macOS): CPU per call is reported as n/a rather than guessed.
    return Number.NaN;
  }
}

/** USER_HZ is 100 on every Linux architecture Node supports (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The child's half of the protocol: prints `announcement` as one JSON line on stdout, then
 * resolves when the parent closes stdin (its way of saying stop) or sends SIGTERM / SIGINT.
 */
export function announceAndAwaitStop(
  announcement: { port: number } & Record<string, unknown>,
): Promise<void> {
  process.stdout.write(`${JSON.stringify(announcement)}\n`);
  return new Promise((resolve) => {
    process.stdin.once("end", () => resolve());
    process.stdin.resume();
    process.once("SIGTERM", () => resolve());
    process.once("SIGINT", () => resolve());
  });
}
