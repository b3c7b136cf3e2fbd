import type { RedisCensus } from "./redis-census.js";
import { type RunInfo, renderTable } from "./results.js";
import { CUSTOMER_COUNT } from "./seed-customers.js";
import { WEBHOOK_BYTES, WEBHOOK_TEXT } from "./webhook-client.js";
import { DRAIN_TIMEOUT_MS, type WebhookRow } from "./webhook-rows.js";

/**
 * The report of the webhook benchmark: the table of rows, the verdict against DESIGN.md's targets,
 * the round trips per webhook, and the bench/RESULTS.md section that holds them.
 */

/** DESIGN.md, Transport and speed: gateway ≥ 0.25× the bare handler's throughput, p99 ≤ 15 ms at 8 connections. */
export const TARGETS = { minRatio: 0.25, maxP99Ms: 15, p99Connections: 8 } as const;

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "—");

/** One column of a webhook table: its header and how a row fills it. */
interface Column {
  readonly header: string;
  cell(row: WebhookRow): string;
}

/** Every column a webhook table may show, by key; each table picks its own (WHATSAPP_COLUMNS, channel-report.ts). */
export const COLUMNS = {
  channel: { header: "channel", cell: (row) => row.channel },
  target: { header: "target", cell: (row) => row.target },
  connections: { header: "connections", cell: (row) => String(row.connections) },
  bodyBytes: { header: "body bytes", cell: (row) => String(row.bodyBytes) },
  rate: { header: "requests/s", cell: (row) => row.result.callsPerSecond.toFixed(0) },
  p50: { header: "p50 ms", cell: (row) => row.result.p50Ms.toFixed(2) },
  p99: { header: "p99 ms", cell: (row) => row.result.p99Ms.toFixed(2) },
  errors: {
    header: "non-200",
    cell: ({ result }) => {
      const errors = [...result.errors].map(([label, n]) => `${label} ${n}`).join(", ");
      return result.errorCount === 0 ? "0" : `${result.errorCount} (${errors})`;
    },
  },
  replies: {
    header: "replies delivered/expected",
    cell: ({ delivery }) => {
      if (!delivery) return "—";
      const unexpected = delivery.unexpected > 0 ? ` (${delivery.unexpected} not a balance)` : "";
      return `${delivery.delivered}/${delivery.expected}${unexpected}`;
    },
  },
  backlog: {
    header: "outbox backlog at end",
    cell: (row) => (row.delivery ? String(row.delivery.backlogAtEnd) : "—"),
  },
  drain: { header: "drain s", cell: (row) => (row.delivery ? row.delivery.drainSeconds.toFixed(1) : "—") },
  serverCpu: { header: "server CPU µs/req", cell: (row) => fixed(row.serverCpuUs, 0) },
  coreCpu: { header: "core CPU µs/req", cell: (row) => fixed(row.coreCpuUs, 0) },
  sinkCpu: { header: "sink CPU µs/req", cell: (row) => fixed(row.sinkCpuUs, 0) },
  redisCpu: { header: "Redis CPU µs/req", cell: (row) => fixed(row.redisCpuUs, 0) },
  postgresCpu: { header: "PostgreSQL CPU µs/req", cell: (row) => fixed(row.postgresCpuUs, 0) },
  clientCpu: { header: "client CPU µs/req", cell: (row) => fixed(row.clientCpuUs, 0) },
  busy: { header: "machine busy", cell: (row) => `${fixed(row.machineBusy * 100, 0)} %` },
  ratio: {
    header: "gateway/bare requests/s",
    cell: (row) => (row.ratio === undefined ? "—" : `${row.ratio.toFixed(3)}×`),
  },
} satisfies Record<string, Column>;

/** The WhatsApp table's columns, as every earlier run of bench/RESULTS.md has them. */
const WHATSAPP_COLUMNS: readonly Column[] = [
  COLUMNS.target,
  COLUMNS.connections,
  COLUMNS.rate,
  COLUMNS.p50,
  COLUMNS.p99,
  COLUMNS.errors,
  COLUMNS.replies,
  COLUMNS.backlog,
  COLUMNS.drain,
  COLUMNS.serverCpu,
  COLUMNS.coreCpu,
  COLUMNS.sinkCpu,
  COLUMNS.redisCpu,
  COLUMNS.postgresCpu,
  COLUMNS.clientCpu,
  COLUMNS.busy,
  COLUMNS.ratio,
];

/** `rows` as a markdown table of `columns`; the first `labels` columns are labels, aligned left. */
export function columnsTable(columns: readonly Column[], rows: readonly WebhookRow[], labels = 2): string {
  return renderTable(
    columns.map((c) => c.header),
    rows.map((row) => columns.map((c) => c.cell(row))),
    labels,
  );
}

/** The WhatsApp rows as a markdown table. */
export function webhookTable(rows: readonly WebhookRow[]): string {
  return columnsTable(WHATSAPP_COLUMNS, rows);
}

/** One line per target of DESIGN.md, each saying met or missed with the measured figure. */
export function verdict(rows: readonly WebhookRow[]): { lines: string[]; met: boolean } {
  const gateway = rows.filter((row) => row.target === "gateway");
  const lines: string[] = [];
  let met = true;
  for (const row of gateway) {
    const ok = (row.ratio ?? 0) >= TARGETS.minRatio;
    met &&= ok;
    lines.push(
      `- Throughput at ${row.connections} connections: ${row.ratio?.toFixed(3)}× the bare handler ` +
        `(target ≥ ${TARGETS.minRatio}×): **${ok ? "met" : "missed"}**.`,
    );
  }
  const at8 = gateway.find((row) => row.connections === TARGETS.p99Connections);
  if (at8) {
    const ok = at8.result.p99Ms <= TARGETS.maxP99Ms;
    met &&= ok;
    lines.push(
      `- p99 at ${TARGETS.p99Connections} connections: ${at8.result.p99Ms.toFixed(2)} ms ` +
        `(target ≤ ${TARGETS.maxP99Ms} ms): **${ok ? "met" : "missed"}**.`,
    );
  }
  const lost = gateway.filter((row) => row.delivery && row.delivery.delivered < row.delivery.expected);
  lines.push(
    lost.length === 0
      ? "- Replies: every webhook answered 200 had its reply delivered to the sink; none lost."
      : `- Replies: **lost** at ${lost.map((row) => `${row.connections} connections`).join(", ")}.`,
  );
  return { lines, met };
}

/** What one webhook costs in round trips, from the census run (MONITOR on Redis, counted SQL). */
export interface Census {
  readonly webhooks: number;
  readonly connections: number;
  readonly redis: RedisCensus;
  readonly sqlQueries: number;
  readonly sqlTransactions: number;
}

/** The census as a markdown table: per-webhook Redis commands by role, command and key, then SQL. */
export function censusTable(census: Census): string {
  const per = (n: number) => (n / census.webhooks).toFixed(2);
  const labels = [...new Set([...census.redis.sent.keys(), ...census.redis.inScripts.keys()])].sort();
  const body = labels.map((label) => {
    const [role = "", command = "", key = ""] = label.split(" ");
    return [
      role,
      // In code spans: the `*` of a key shape is not emphasis.
      `\`${`${command} ${key}`.trim()}\``,
      per(census.redis.sent.get(label) ?? 0),
      per(census.redis.inScripts.get(label) ?? 0),
    ];
  });
  const total = (map: ReadonlyMap<string, number>, role: string) =>
    [...map].filter(([label]) => label.startsWith(`${role} `)).reduce((sum, [, n]) => sum + n, 0);
  for (const role of ["gateway", "core"])
    body.push([
      role,
      "**all Redis**",
      per(total(census.redis.sent, role)),
      per(total(census.redis.inScripts, role)),
    ]);
  body.push(["core", "**SQL statements**", per(census.sqlQueries), "—"]);
  body.push(["core", "**SQL transactions**", per(census.sqlTransactions), "—"]);
  return renderTable(
    ["process", "command and first key", "round trips/webhook", "run inside scripts/webhook"],
    body,
  );
}

/** The webhook section of bench/RESULTS.md. */
export function webhookSection(options: {
  info: RunInfo;
  table: string;
  verdictLines: readonly string[];
  census: string;
  seconds: number;
  warmupSeconds: number;
  censusWebhooks: number;
}): string {
  const { info } = options;
  return `## Signed WhatsApp webhooks: the gateway (→ core → outbox → Graph API sink) against a bare Koa HMAC check

- Date: ${info.date}
- Machine: ${info.machine}, ${info.cores} cores, ${info.platform}, Node ${info.node}
- Load: node:http keep-alive Agent with one socket per connection, closed loop, ${options.warmupSeconds} s warm-up then
  ${options.seconds} s per row; p50/p99 over requests started in the measured window; timeout 10 s.
- Bodies: WhatsApp Cloud API text notifications of ${WEBHOOK_BYTES.toLocaleString("en")} bytes ("${WEBHOOK_TEXT}", a contact profile padded
  to size), a new wamid per request, senders cycling over ${CUSTOMER_COUNT.toLocaleString("en")} seeded customers, signed with
  X-Hub-Signature-256 = HMAC-SHA256(app secret, raw body). Both targets get the same bodies from the same client.
- gateway: \`createGateways\` (the shared Koa app, per-IP limit on Redis set to 100,000,000/min, every channel's route
  with WhatsApp's loaded here, the grpc-js core client, the Redis outbox and its worker with default settings) in a
  child process; the core (\`bench/core-server.ts\`, per-subject limit 1,000,000/min) in another, with real Redis and
  PostgreSQL on this machine; replies go to the Cloud API fake of the behaviour suite (\`test/support/fake-graph.ts\`,
  which checks path, token and body as the Graph API does) in a third child. "Replies delivered" counts what the sink
  accepted for the row's webhooks answered 200 (warm-up included), waiting up to ${DRAIN_TIMEOUT_MS / 1000} s after the load for the
  outbox to drain.
- bare: a Koa app in a child process whose one handler reads the raw body, checks the HMAC with the gateway's own
  \`verifyHubSignature\` (timingSafeEqual) and answers 200.
- CPU µs/req is each process's CPU time from the row's start to the end of its drain over every request sent (warm-up
  included); Redis and PostgreSQL are their whole servers. Machine busy is the share of all cores used during the load.
- The machine is shared and every process (client, gateway, core, Redis, PostgreSQL, sink) runs on the same
  ${info.cores} cores, so absolute figures move between runs: the gateway/bare ratios are the comparable figure.

${options.table}

Against DESIGN.md (Transport and speed):

${options.verdictLines.join("\n")}

Round trips per webhook, from a separate census run after the timed rows (${options.censusWebhooks} webhooks at 8 connections,
Redis under MONITOR, the core's SQL counted by a wrapper); the outbox worker's polling during the run is included:

${options.census}`;
}
