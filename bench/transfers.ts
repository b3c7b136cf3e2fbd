import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { systemClock } from "../lib/clock.js";
import { formatMoney } from "../lib/money.js";
import { createRedis } from "../lib/redis.js";
import { mintServiceToken } from "../lib/service-token.js";
import { createTestKeys } from "../test/support/core.js";
import { postgresUrl } from "../test/support/postgres.js";
import { redisUrl } from "../test/support/redis.js";
import { readSeconds } from "./bench-env.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import { createBenchClient } from "./grpc-caller.js";
import { ledgerProblems, readLedgerTotals } from "./ledger-totals.js";
import type { LoadResult } from "./load.js";
import {
  createPgbenchDatabase,
  findPgbench,
  PGBENCH_MISSING,
  type PgbenchDatabase,
  runPgbench,
} from "./pgbench.js";
import { runInfo, writeResultsSection } from "./results.js";
import { type BenchRpc, seedPayers } from "./transfer-customers.js";
import { type TransferRow, transferSection, transferTable } from "./transfer-report.js";
import { measureTeller, type TransferBench, warmUp } from "./transfer-rows.js";

/**
 * `make bench`: transfers per second through the core's gRPC API, step-up included, against
 * PostgreSQL's pgbench tpcb-like on the same server in the same run, both with durable commits,
 * at 8 and 32 in flight (DESIGN.md Targets: ≥ 0.5× pgbench). Prints the table, writes the
 * transfers section of bench/RESULTS.md, checks the books after the run, and exits non-zero when
 * a call failed, the books are wrong or pgbench is missing. BENCH_SECONDS (default 10) and
 * BENCH_WARMUP_SECONDS (default 2) set each row's measured and (Teller's) warm-up time.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const CONCURRENCIES = [8, 32] as const;
const PGBENCH_SCALE = 1;
const PAYERS = 16;
const DEPOSIT_MINOR = 100_000_000n;
const AMOUNT = { currency: "EUR", minorUnits: 125n } as const;
/** Longest row (warm-up + measured): tokens for it are minted first, so half their life at most. */
const MAX_ROW_SECONDS = 140;
/** The run's settings: row timing, the pgbench binary, where PostgreSQL and Redis are, the keys. */
interface Setup {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly pgbench: string;
  readonly dbUrl: string;
  readonly cacheUrl: string;
  readonly keys: Awaited<ReturnType<typeof createTestKeys>>;
}

async function main(): Promise<number> {
  const seconds = readSeconds("BENCH_SECONDS", 10);
  const warmupSeconds = readSeconds("BENCH_WARMUP_SECONDS", 2);
  if (seconds + warmupSeconds > MAX_ROW_SECONDS)
    throw new Error(
      `BENCH_SECONDS + BENCH_WARMUP_SECONDS must be at most ${MAX_ROW_SECONDS}: step-up tokens live 5 minutes`,
    );
  const pgbench = findPgbench();
  if (pgbench === undefined) {
    console.error(PGBENCH_MISSING);
    return 1;
  }
  const [dbUrl, cacheUrl, keys] = await Promise.all([postgresUrl(), redisUrl(), createTestKeys("bench-key")]);
  const cleanups: Array<() => Promise<unknown>> = [];
  const outcome = await runBench({ seconds, warmupSeconds, pgbench, dbUrl, cacheUrl, keys }, cleanups).then(
    (code) => ({ code }),
    (err: unknown) => ({ err }),
  );
  // Every step runs even when one fails, so a failed run still drops its database and schema.
  const failures: unknown[] = "err" in outcome ? [outcome.err] : [];
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => failures.push(err));
  if (failures.length > 0) throw new AggregateError(failures, "transfers bench failed");
  return "code" in outcome ? outcome.code : 1;
}

/** Sets up both sides, measures every row, checks the books and reports; pushes each undo step onto `cleanups`. */
async function runBench(setup: Setup, cleanups: Array<() => Promise<unknown>>): Promise<number> {
  const { pgbench, dbUrl, cacheUrl, keys } = setup;
  const db = await createPgbenchDatabase(pgbench, dbUrl, `teller_bench_${process.pid}`, PGBENCH_SCALE);
  cleanups.unshift(() => db.drop());
  const core = await startChildServer("core", join(HERE, "transfer-core-server.ts"), {
    BENCH_JWKS: JSON.stringify({ keys: [keys.publicJwk] }),
    DATABASE_URL: dbUrl,
    REDIS_URL: cacheUrl,
  });
  cleanups.unshift(() => stopped(core));
  requireDurable(db, core);
  const client = createBenchClient(core.port);
  cleanups.unshift(async () => client.close());
  const redis = createRedis(cacheUrl);
  cleanups.unshift(() => redis.quit());
  const serviceToken = await mintServiceToken({
    privateJwk: keys.privateJwk,
    subject: "bench-transfers",
    scopes: ["banking:admin", "banking:write", "banking:read"],
    ttlSeconds: 3_600,
    clock: systemClock,
  });
  const rpc: BenchRpc = {
    client,
    headers: { authorization: `Bearer ${serviceToken}` },
    outbox: { redis, prefix: String(core.announced.prefix) },
    amount: AMOUNT,
  };
  const payers = await seedPayers(rpc, PAYERS, DEPOSIT_MINOR);
  const runId = randomBytes(4).toString("hex");
  const bench: TransferBench = { rpc, payers, tally: { succeeded: 0 }, runId, tokensMinted: 0 };
  const schema = String(core.announced.schema);
  const before = await readLedgerTotals(dbUrl, schema);
  const rows = await measureAll(bench, pgbench, db, core, setup);
  const problems = ledgerProblems(before, await readLedgerTotals(dbUrl, schema), bench.tally.succeeded);
  report(bench, core, db, rows, { ...setup, problems });
  return problems.length > 0 || rows.some((row) => row.failed !== "0") ? 1 : 0;
}

/** Refuses to compare anything unless both sides commit durably. */
function requireDurable(db: PgbenchDatabase, core: ChildServer): void {
  const sides = {
    pgbench: db.durability,
    teller: core.announced as { synchronousCommit: string; fsync: string },
  };
  for (const [side, { synchronousCommit, fsync }] of Object.entries(sides)) {
    if (synchronousCommit === "off" || fsync !== "on")
      throw new Error(
        `${side}'s commits are not durable (synchronous_commit=${synchronousCommit}, fsync=${fsync})`,
      );
  }
}

async function measureAll(
  bench: TransferBench,
  pgbench: string,
  db: PgbenchDatabase,
  core: ChildServer,
  time: { seconds: number; warmupSeconds: number },
): Promise<TransferRow[]> {
  const timing = { warmupMs: time.warmupSeconds * 1000, durationMs: time.seconds * 1000 };
  const maxInFlight = Math.max(...CONCURRENCIES);
  let rate = await warmUp(bench, maxInFlight);
  console.log(
    `Warm-up: about ${rate.toFixed(0)} transfers/s at ${maxInFlight} in flight; measuring ${time.seconds} s per row…`,
  );
  const rows: TransferRow[] = [];
  for (const concurrency of CONCURRENCIES) {
    const base = await runPgbench(pgbench, db, concurrency, time.seconds);
    console.log(`  pgbench × ${concurrency}: ${base.tps.toFixed(0)} tps`);
    rows.push({
      target: "pgbench tpcb-like",
      concurrency,
      perSecond: base.tps,
      p50Ms: base.p50Ms,
      p99Ms: base.p99Ms,
      completed: base.transactions,
      failed: String(base.failed),
      synchronousCommit: db.durability.synchronousCommit,
    });
    const { result, coreCpuUs } = await measureTeller(bench, core, { concurrency, ...timing }, rate);
    rate = Math.max(rate, result.callsPerSecond);
    console.log(`  teller × ${concurrency}: ${result.callsPerSecond.toFixed(0)} transfers/s`);
    rows.push({
      target: "teller CreateTransfer",
      concurrency,
      perSecond: result.callsPerSecond,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      completed: result.calls,
      failed: failedCell(result),
      coreCpuUs,
      synchronousCommit: String(core.announced.synchronousCommit),
      ratio: result.callsPerSecond / base.tps,
    });
  }
  return rows;
}

function failedCell(result: LoadResult): string {
  if (result.errorCount === 0) return "0";
  return `${result.errorCount} (${[...result.errors].map(([label, n]) => `${label} ${n}`).join(", ")})`;
}

function report(
  bench: TransferBench,
  core: ChildServer,
  db: PgbenchDatabase,
  rows: readonly TransferRow[],
  run: { seconds: number; warmupSeconds: number; problems: readonly string[] },
): void {
  const checks =
    run.problems.length === 0
      ? `customer balances sum to what they did before, ${bench.tally.succeeded.toLocaleString("en")} ` +
        "accepted transfers (warm-up included) are exactly the transfers posted, every balance equals its entries"
      : `**failed**: ${run.problems.join("; ")}`;
  const body = transferSection(
    {
      info: runInfo(),
      seconds: run.seconds,
      warmupSeconds: run.warmupSeconds,
      scale: PGBENCH_SCALE,
      payers: bench.payers.length,
      amount: formatMoney(AMOUNT),
      poolSize: Number(core.announced.poolSize),
      fsync: db.durability.fsync,
      tokensMinted: bench.tokensMinted,
      checks,
    },
    rows,
  );
  console.log(`\n${transferTable(rows)}\n`);
  writeResultsSection({ path: join(HERE, "RESULTS.md"), name: "transfers", body });
  for (const problem of run.problems) console.error(`ledger check failed: ${problem}`);
}

async function stopped(server: ChildServer): Promise<void> {
  const code = await server.stop();
  if (code !== 0) throw new Error(`${server.name} server exited with code ${code} (cleanup incomplete?)`);
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("transfers bench failed:", err);
    process.exit(1);
  },
);
