import { pgbenchSeconds } from "./pgbench.js";
import { type RunInfo, renderTable } from "./results.js";

/**
 * The transfers benchmark's report: one table of pgbench and Teller rows and the section of
 * bench/RESULTS.md around it, with the DESIGN.md target (transfers at ≥ 0.5× pgbench's
 * tpcb-like rate with durable commits) checked against the measured ratios.
 */

/** DESIGN.md, Transport and speed, Targets: transfers per second over pgbench tpcb-like tps. */
export const TARGET_RATIO = 0.5;

/** One measured (target, concurrency) pair. */
export interface TransferRow {
  readonly target: "pgbench tpcb-like" | "teller CreateTransfer";
  readonly concurrency: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Transactions (pgbench) or accepted transfers (Teller) of the measured window. */
  readonly completed: number;
  /** Failed transactions or calls, with their labels. */
  readonly failed: string;
  /** CPU time of the core process per call sent (warm-up included) in µs, Teller rows only; no Redis or PostgreSQL. */
  readonly coreCpuUs?: number;
  /** synchronous_commit as this row's connections saw it. */
  readonly synchronousCommit: string;
  /** teller / pgbench per second at this concurrency; undefined on pgbench rows. */
  readonly ratio?: number;
}

/** What the section says besides the table. */
export interface TransferRunNotes {
  readonly info: RunInfo;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly scale: number;
  readonly payers: number;
  readonly amount: string;
  readonly poolSize: number;
  readonly fsync: string;
  readonly tokensMinted: number;
  readonly checks: string;
}

const HEADERS = [
  "target",
  "in flight",
  "transactions/s",
  "p50 ms",
  "p99 ms",
  "completed",
  "failed",
  "core CPU µs/call",
  "synchronous_commit",
  "teller/pgbench",
];

/** The rows as a markdown table (which also reads well on a console). */
export function transferTable(rows: readonly TransferRow[]): string {
  const body = rows.map((row) => [
    row.target,
    String(row.concurrency),
    row.perSecond.toFixed(0),
    row.p50Ms.toFixed(2),
    row.p99Ms.toFixed(2),
    String(row.completed),
    row.failed,
    row.coreCpuUs === undefined || !Number.isFinite(row.coreCpuUs) ? "—" : row.coreCpuUs.toFixed(0),
    row.synchronousCommit,
    row.ratio === undefined ? "—" : `${row.ratio.toFixed(3)}×`,
  ]);
  return renderTable(HEADERS, body);
}

/** One line per concurrency: the ratio against the DESIGN.md target, met or missed. */
export function verdicts(rows: readonly TransferRow[]): string[] {
  return rows.flatMap((row) =>
    row.ratio === undefined
      ? []
      : [
          `- Transfers at ${row.concurrency} in flight: ${row.ratio.toFixed(3)}× pgbench's tpcb-like ` +
            `(target ≥ ${TARGET_RATIO}×): **${row.ratio >= TARGET_RATIO ? "met" : "missed"}**.`,
        ],
  );
}

/** The section of bench/RESULTS.md, without its markers. */
export function transferSection(notes: TransferRunNotes, rows: readonly TransferRow[]): string {
  const { info } = notes;
  return `## Transfers over gRPC with step-up: CreateTransfer against pgbench tpcb-like, durable commits

- Date: ${info.date}
- Machine: ${info.machine}, ${info.cores} cores, ${info.platform}, Node ${info.node}
- Durability: every commit of both sides waits for its WAL flush to disk (synchronous_commit in the table,
  fsync ${notes.fsync}); one PostgreSQL server, one run, the two targets alternating by concurrency.
- pgbench: the builtin \`tpcb-like\` script at scale ${notes.scale}, in a database created for the run and
  dropped after it; \`-c\` = in flight, \`-j\` = min(in flight, cores), \`-T ${pgbenchSeconds(notes.seconds)}\`. Transactions/s is
  its "tps … (without initial connection time)"; p50/p99 come from its per-transaction log (\`-l\`).
- teller: \`teller.v1.BankingService/CreateTransfer\` of ${notes.amount} to a saved payee over one grpc-js
  channel, closed loop, ${notes.warmupSeconds} s warm-up then ${notes.seconds} s per row, on the real core in a child process
  with real Redis and PostgreSQL (a schema of its own, a pool of ${notes.poolSize} connections); ${notes.payers} customers pay
  each other in a ring. Each call has a new idempotency key and a step-up token of its own, which the core
  verifies inside the timed call (signature, binding to amount and payee, single use). The tokens were minted
  before each row, untimed, as a customer would get them: StartChallenge, the code from the development SMS
  outbox, VerifyChallenge (${notes.tokensMinted.toLocaleString("en")} tokens in all). Limits, fraud rules and the step-up lockout were set
  too high to fire; the rules still run. Only accepted transfers count.
- pgbench serialises its commits on its single branch row at scale 1; Teller's hash-chained audit trail is
  appended after each commit by a batching chainer (one advisory lock per schema, not held by the transfer).
- Core CPU µs/call is the core process's CPU time over every call sent (warm-up included), without Redis and
  PostgreSQL.
- Checks after the run: ${notes.checks}.
- The machine is shared, so absolute figures move between runs: the teller/pgbench ratios are the comparable figure.

${transferTable(rows)}

Against DESIGN.md (Targets):

${verdicts(rows).join("\n")}`;
}
