import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { percentile } from "./load.js";

/**
 * The transfers benchmark's baseline: PostgreSQL's own pgbench running its builtin TPC-B-like
 * script (three UPDATEs, a SELECT and an INSERT per transaction) against the same server, in a
 * database of its own that is created for the run and dropped after it, since `pgbench -i` makes
 * pgbench_* tables wherever its search_path points.
 */

const run = promisify(execFile);

/** What one pgbench run reported. */
export interface PgbenchResult {
  /** "tps = … (without initial connection time)". */
  readonly tps: number;
  /** Transactions that completed, from the per-transaction log. */
  readonly transactions: number;
  /** "number of failed transactions: …" (0 when pgbench prints no such line). */
  readonly failed: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Worker threads (-j). */
  readonly threads: number;
}

/** A database made for pgbench, with the way to remove it. */
export interface PgbenchDatabase {
  /** libpq URL of the new database. */
  readonly url: string;
  readonly name: string;
  /** `synchronous_commit` and `fsync` as pgbench's connections see them. */
  readonly durability: { readonly synchronousCommit: string; readonly fsync: string };
  drop(): Promise<void>;
}

/**
 * Every pgbench connection asks for durable commits itself (libpq reads PGOPTIONS), whatever the
 * server, database or role default: a commit returns once its WAL is flushed to disk.
 */
const DURABLE = { PGOPTIONS: "-c synchronous_commit=on" };

/**
 * The pgbench binary: on PATH, else under /usr/lib/postgresql/<version>/bin (newest first);
 * undefined when neither has one.
 */
export function findPgbench(): string | undefined {
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql") : [];
  const libDirs = versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`);
  const dirs = [...(process.env.PATH ?? "").split(delimiter), ...libDirs];
  return dirs.map((dir) => join(dir, "pgbench")).find((path) => existsSync(path));
}

/** The one line printed when pgbench is missing: which Debian package brings it. */
export const PGBENCH_MISSING =
  "pgbench not found: on Debian it comes with the PostgreSQL server package (apt-get install postgresql, e.g. postgresql-15)";

/** Creates `name` on the server at `serverUrl` and fills it with `pgbench -i` at `scale`. */
export async function createPgbenchDatabase(
  pgbench: string,
  serverUrl: string,
  name: string,
  scale: number,
): Promise<PgbenchDatabase> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new TypeError(`not a database name: ${name}`);
  await admin(serverUrl, `CREATE DATABASE "${name}"`);
  const url = withDatabase(serverUrl, name);
  const drop = () => admin(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  try {
    await run(pgbench, ["-i", "-q", "-s", String(scale), url], { env: { ...process.env, ...DURABLE } });
    return { url, name, durability: await durabilityOf(url), drop };
  } catch (err) {
    await drop();
    throw err;
  }
}

/**
 * Runs the builtin tpcb-like script with `clients` connections for `seconds` (whole seconds, at
 * least 1, as `-T` takes them), logging every transaction's latency to a temporary folder for the
 * percentiles (pgbench -l), then removes it.
 */
export async function runPgbench(
  pgbench: string,
  db: PgbenchDatabase,
  clients: number,
  seconds: number,
): Promise<PgbenchResult> {
  const threads = Math.max(1, Math.min(clients, os.cpus().length));
  const logDir = mkdtempSync(join(os.tmpdir(), "teller-pgbench-"));
  try {
    const duration = String(pgbenchSeconds(seconds));
    const args = ["-b", "tpcb-like", "-c", String(clients), "-j", String(threads), "-T", duration];
    const { stdout } = await run(pgbench, [...args, "-l", `--log-prefix=${join(logDir, "tx")}`, db.url], {
      env: { ...process.env, ...DURABLE },
      timeout: (seconds + 120) * 1000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const tps = /^tps = ([0-9.]+) \(without initial connection time\)$/m.exec(stdout)?.[1];
    if (tps === undefined)
      throw new Error(`pgbench printed no "tps = … (without initial connection time)":\n${stdout}`);
    const failed = Number(/^number of failed transactions: (\d+)/m.exec(stdout)?.[1] ?? 0);
    const latencies = readLatenciesMs(logDir);
    return {
      tps: Number(tps),
      transactions: latencies.length,
      failed,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      threads,
    };
  } finally {
    rmSync(logDir, { recursive: true, force: true });
  }
}

/** What `-T` gets for a row of `seconds`: whole seconds, at least 1. */
export function pgbenchSeconds(seconds: number): number {
  return Math.max(1, Math.round(seconds));
}

/** Every transaction's latency from pgbench's logs (third field, µs), ascending, in ms. */
function readLatenciesMs(dir: string): number[] {
  const latencies: number[] = [];
  for (const file of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      const micros = line.split(" ")[2];
      if (micros !== undefined && /^[0-9]+$/.test(micros)) latencies.push(Number(micros) / 1000);
    }
  }
  return latencies.sort((a, b) => a - b);
}

function withDatabase(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function durabilityOf(url: string): Promise<PgbenchDatabase["durability"]> {
  const client = new pg.Client({ connectionString: url, options: DURABLE.PGOPTIONS });
  await client.connect();
  try {
    const { rows } = await client.query<{ sc: string; fsync: string }>(
      "SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync",
    );
    return { synchronousCommit: rows[0]?.sc ?? "unknown", fsync: rows[0]?.fsync ?? "unknown" };
  } finally {
    await client.end();
  }
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
