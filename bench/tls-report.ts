import { HANDLE_TEXT } from "./core-calls.js";
import type { ResultRow, RunInfo } from "./results.js";
import { CUSTOMER_COUNT } from "./seed-customers.js";

/**
 * The text of the TLS benchmark's section of bench/RESULTS.md: how it was measured, its two
 * tables (calls over long-lived connections; one call per fresh connection) and what they show,
 * read from the rows as ratios and CPU differences against h2c measured in the same run.
 */

/** The name of the last row at each concurrency: h2c measured again after TLS and mutual TLS. */
export const REPEAT_NAME = "h2c again";

/** Everything the section says. */
export interface TlsReport {
  readonly info: RunInfo;
  /** The TLS parameters the core negotiated with the gateway's credentials (tls-transports.ts, negotiated). */
  readonly handshake: string;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly connectionWarmupSeconds: number;
  readonly steady: readonly ResultRow[];
  readonly steadyTable: string;
  readonly storm: readonly ResultRow[];
  readonly stormTable: string;
}

/** The section's markdown, without its markers. */
export function tlsSection(r: TlsReport): string {
  return `## TLS on the core's gRPC port: h2c against TLS and mutual TLS

- Date: ${r.info.date}
- Machine: ${r.info.machine}, ${r.info.cores} cores, ${r.info.platform}, Node ${r.info.node}
- One core child (\`bench/core-server.ts\`: the real core on real Redis and PostgreSQL on this machine, ${CUSTOMER_COUNT.toLocaleString("en")} seeded
  customers) serving the same core on three gRPC ports: h2c, TLS (TLS_CERT_FILE, TLS_KEY_FILE) and mutual TLS
  (TLS_CLIENT_CA_FILE too), so only the transport differs between rows. Certificates are made for the run by
  \`openssl\` (\`test/support/certs.ts\`: ECDSA P-256, a test CA, SAN 127.0.0.1); the client's credentials are the
  gateway's own (\`grpcChannelCredentials\` with CORE_CA_FILE, and CORE_CLIENT_CERT_FILE / CORE_CLIENT_KEY_FILE for
  mutual TLS). Negotiated: ${r.handshake}.
- Every call is \`teller.v1.ConversationService/HandleMessage\` (WhatsApp, "${HANDLE_TEXT}", a new message id per call, senders
  cycling over the seeded customers, service token with scope \`conversation\`); deadline 10 s; closed loop.
- Long-lived connection: one grpc-js client over one channel per transport, as a gateway holds it; first
  ${r.warmupSeconds} s of unrecorded load at 64 in flight on each transport, then ${r.warmupSeconds} s warm-up and ${r.seconds} s per row.
- Fresh connections: every call opens a new connection (a client of its own with a local subchannel pool: TCP
  connect, the full TLS handshake — no session resumption —, the HTTP/2 preface, one call) and closes it, as in a
  storm of reconnecting gateways; first ${r.connectionWarmupSeconds} s of unrecorded load at 64 in flight on each transport, then
  ${r.connectionWarmupSeconds} s warm-up and ${r.connections} connections per row, so calls/s is connections/s.
- CPU µs/call is process CPU time over every call sent (warm-up included); the core's figure excludes Redis and
  PostgreSQL. The client, the core, Redis and PostgreSQL share this machine's cores.
- Rows run in table order. At each concurrency h2c is measured first and, as "${REPEAT_NAME}", last; every ratio is over
  the mean of those two, so a steady drift of the machine cancels, and the two h2c rows' own ratios show this run's
  noise: a transport no further from 1× than they are shows no measurable difference. The CPU and p99
  differences below are against the same mean.
- The machine is shared, so absolute figures move between runs: the ratios to h2c in the same run are the
  comparable figure.

Long-lived connection:

${r.steadyTable}

One call per fresh connection:

${r.stormTable}

What it shows:

${readout(r).join("\n")}`;
}

/**
 * `rows` (one concurrency, h2c first and REPEAT_NAME last) with each row's ratio set to its calls/s
 * over the two h2c rows' mean: bracketing the others, they cancel a steady drift of the machine.
 */
export function againstH2c(rows: readonly ResultRow[]): ResultRow[] {
  const base = h2cMean(rows, (row) => row.result.callsPerSecond);
  return rows.map((row) => ({ ...row, ratio: row.result.callsPerSecond / base }));
}

function isH2c(row: ResultRow): boolean {
  return row.target === "h2c" || row.target === REPEAT_NAME;
}

function h2cMean(rows: readonly ResultRow[], figure: (row: ResultRow) => number): number {
  const h2c = rows.filter(isH2c);
  return h2c.reduce((sum, row) => sum + figure(row), 0) / h2c.length;
}

/** One line per table and concurrency: each transport against the h2c mean, then the h2c rows' spread. */
function readout(r: Pick<TlsReport, "steady" | "storm">): string[] {
  const lines: string[] = [];
  for (const [rows, what, unit] of [
    [r.steady, "Long-lived connection", "call"],
    [r.storm, "Fresh connections", "connection"],
  ] as const) {
    for (const concurrency of new Set(rows.map((row) => row.concurrency))) {
      const at = rows.filter((row) => row.concurrency === concurrency);
      const others = at.filter((row) => !isH2c(row)).map((row) => describe(row, at, unit));
      const noise = at.filter(isH2c).map(ratio).join(" and ");
      lines.push(
        `- ${what}, ${concurrency} in flight: ${others.join("; ")}; the two h2c rows: ${noise} (this run's noise).`,
      );
    }
  }
  return lines;
}

function describe(row: ResultRow, at: readonly ResultRow[], unit: string): string {
  const cpu = row.serverCpuUs - h2cMean(at, (r) => r.serverCpuUs);
  const client = row.clientCpuUs - h2cMean(at, (r) => r.clientCpuUs);
  const p99 = row.result.p99Ms - h2cMean(at, (r) => r.result.p99Ms);
  return (
    `${row.target} ${ratio(row)} the h2c mean's calls/s, core CPU ${signed(cpu, 0)} µs and client CPU ` +
    `${signed(client, 0)} µs per ${unit}, p99 ${signed(p99, 2)} ms`
  );
}

function ratio(row: ResultRow): string {
  return `${(row.ratio ?? Number.NaN).toFixed(3)}×`;
}

function signed(value: number, digits: number): string {
  if (!Number.isFinite(value)) return "n/a";
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)}`;
}
