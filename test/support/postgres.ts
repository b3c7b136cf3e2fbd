import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { createPgClient } from "../../core/stores/postgres/pg-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";

const HOW_TO =
  "No PostgreSQL for integration tests: set DATABASE_URL, run one on localhost:5432 with a database `test`, " +
  "or install PostgreSQL (postgres and initdb) so the tests can start a throwaway server.";

/** Opens one connection and runs SELECT 1; false when nothing answers within two seconds. */
async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    // Unreachable or refused: the caller tries the next candidate.
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function findBinary(name: string): string | undefined {
  const dirs = (process.env.PATH ?? "").split(delimiter);
  const versions = existsSync("/usr/lib/postgresql") ? readdirSync("/usr/lib/postgresql") : [];
  const sorted = versions.sort((a, b) => Number(b) - Number(a)).map((v) => `/usr/lib/postgresql/${v}/bin`);
  return [...dirs, ...sorted].map((dir) => join(dir, name)).find((path) => existsSync(path));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error(HOW_TO)),
      );
    });
  });
}

/**
 * Starts a throwaway PostgreSQL server in a temp folder on a free port, stopped and deleted when
 * the process exits, and returns its URL; undefined without `postgres` and `initdb` binaries.
 * PostgreSQL refuses to run as root, so under root it runs as the `nobody` user (uid 65534).
 */
export async function startThrowawayPostgres(): Promise<string | undefined> {
  const initdb = findBinary("initdb");
  const postgres = findBinary("postgres");
  if (initdb === undefined || postgres === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "teller-pg-"));
  const asUser = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
  if (asUser !== undefined) chownSync(dir, asUser.uid, asUser.gid);
  const data = join(dir, "data");
  execFileSync(initdb, ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync"], {
    ...asUser,
    stdio: "ignore",
  });
  const port = await freePort();
  const args = ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-F"];
  const server = spawn(postgres, args, { ...asUser, stdio: "ignore" });
  process.once("exit", () => {
    server.kill("SIGINT");
    rmSync(dir, { recursive: true, force: true });
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let attempt = 0; attempt < 60; attempt += 1) {
    if (await reachable(url)) return url;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`The throwaway PostgreSQL in ${dir} did not start. ${HOW_TO}`);
}

async function findPostgres(): Promise<string> {
  const fromEnv = process.env.DATABASE_URL;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  for (const user of new Set(["postgres", userInfo().username])) {
    const url = `postgres://${encodeURIComponent(user)}@127.0.0.1:5432/test`;
    if (await reachable(url)) return url;
  }
  const started = await startThrowawayPostgres();
  if (started === undefined) throw new Error(HOW_TO);
  return started;
}

let found: Promise<string> | undefined;

/**
 * The URL of a PostgreSQL server for integration tests, found once per process: DATABASE_URL,
 * else localhost:5432 (database `test`, trust auth), else a throwaway server; else it throws
 * one line saying how to get one.
 */
export function postgresUrl(): Promise<string> {
  found ??= findPostgres();
  return found;
}

/** A client confined to a fresh schema, and the way to remove both. */
export interface TestSchemaClient {
  readonly client: SqlClient;
  readonly schema: string;
  /** Closes the client and drops its schema (only that schema: shared data is never touched). */
  drop(): Promise<void>;
}

/**
 * Creates a SqlClient on the test server whose connections all use a new, uniquely named schema
 * (STYLE.md §8: a unique schema per test, never a wipe of a shared server).
 */
export async function createTestSchemaClient(): Promise<TestSchemaClient> {
  const url = await postgresUrl();
  const schema = `test_${randomBytes(8).toString("hex")}`;
  const client = createPgClient({ connectionString: url, schema, maxConnections: 20 });
  const drop = async () => {
    await client.close();
    const admin = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    await admin.connect();
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  };
  return { client, schema, drop };
}
