import { Agent } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestKeys } from "../test/support/core.js";
import { postgresUrl } from "../test/support/postgres.js";
import { redisUrl } from "../test/support/redis.js";
import { readSeconds } from "./bench-env.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import { profileOf, profileTables, summariseProfile } from "./cpu-profile.js";
import { redisCensus } from "./redis-census.js";
import { runInfo, writeResultsSection } from "./results.js";
import { hubSignature, postWebhook, webhookSource } from "./webhook-client.js";
import { type Census, censusTable, verdict, webhookSection, webhookTable } from "./webhook-report.js";
import {
  awaitDelivery,
  measureRow,
  sinkCounts,
  type WebhookRow,
  type WebhookTarget,
} from "./webhook-rows.js";

/**
 * The end-to-end benchmark of issue 4, item 7: signed WhatsApp webhooks over HTTP/1.1 keep-alive
 * to the real gateway process (→ core → Redis outbox → a Graph API sink), next to a bare Koa
 * handler that only checks the HMAC, at 8 and 64 connections, every server in a child process.
 * Prints the table and the verdict against DESIGN.md, writes the webhook section of
 * bench/RESULTS.md, and exits non-zero when a request failed or a reply was lost. BENCH_SECONDS
 * (default 10) and BENCH_WARMUP_SECONDS (default 2) set each row's times; BENCH_CPU_PROF=<dir>
 * also profiles the servers and prints where each spent its time (BENCH_CONNECTIONS=8 profiles one
 * row; such runs are for diagnosis, not for the results file).
 */

const HERE = dirname(fileURLToPath(import.meta.url));
/** Connections per row; BENCH_CONNECTIONS (e.g. "8") narrows a profiling run to some of them. */
const CONNECTIONS = (process.env.BENCH_CONNECTIONS || "8,64").split(",").map(Number);
/** Profiled or narrowed runs are diagnoses: they print but leave bench/RESULTS.md alone. */
const DIAGNOSIS = Boolean(process.env.BENCH_CPU_PROF || process.env.BENCH_CONNECTIONS);
const CENSUS_WEBHOOKS = 400;

interface Processes {
  readonly bare: ChildServer;
  readonly gateway: ChildServer;
  readonly core: ChildServer;
  readonly sink: ChildServer;
}

async function main(): Promise<number> {
  const seconds = readSeconds("BENCH_SECONDS", 10);
  const warmupSeconds = readSeconds("BENCH_WARMUP_SECONDS", 2);
  if (!CONNECTIONS.every((n) => Number.isInteger(n) && n > 0))
    throw new Error(`BENCH_CONNECTIONS must list positive integers, got "${process.env.BENCH_CONNECTIONS}"`);
  // Found once here and handed down, so every child shares one Redis and one PostgreSQL server.
  const shared = { REDIS_URL: await redisUrl(), DATABASE_URL: await postgresUrl() };
  const started: ChildServer[] = [];
  let failed = false;
  try {
    const processes = await startProcesses(shared, started);
    await checkTargets(processes);
    console.log(
      `Loading each target for ${warmupSeconds} s warm-up + ${seconds} s at ${CONNECTIONS.join(" and ")} connections…`,
    );
    const rows = await measureAll(processes, { warmupMs: warmupSeconds * 1000, durationMs: seconds * 1000 });
    const census = await runCensus(processes, shared.REDIS_URL);
    const table = webhookTable(rows);
    const { lines } = verdict(rows);
    const censusText = censusTable(census);
    console.log(`\n${table}\n\n${lines.join("\n")}\n\n${censusText}\n`);
    if (!DIAGNOSIS)
      writeResultsSection({
        path: join(HERE, "RESULTS.md"),
        name: "webhook",
        body: webhookSection({
          info: runInfo(),
          table,
          verdictLines: lines,
          census: censusText,
          seconds,
          warmupSeconds,
          censusWebhooks: CENSUS_WEBHOOKS,
        }),
      });
    failed = reportFailures(rows, census);
  } finally {
    failed = (await stopAll(started)) || failed;
  }
  printProfiles(started);
  return failed ? 1 : 0;
}

/** Starts the sink, the bare handler and the core, then the gateway pointed at the core and the sink. */
async function startProcesses(shared: Record<string, string>, started: ChildServer[]): Promise<Processes> {
  const keys = await createTestKeys("bench-gateway");
  const first = await Promise.allSettled([
    startChildServer("sink", join(HERE, "graph-sink-server.ts"), shared),
    startChildServer("bare", join(HERE, "hmac-server.ts"), shared),
    startChildServer("core", join(HERE, "core-server.ts"), {
      ...shared,
      BENCH_JWKS: JSON.stringify({ keys: [keys.publicJwk] }),
    }),
  ]);
  for (const s of first) if (s.status === "fulfilled") started.push(s.value);
  for (const s of first) if (s.status === "rejected") throw s.reason;
  const [sink, bare, core] = started as [ChildServer, ChildServer, ChildServer];
  const gateway = await startChildServer("gateway", join(HERE, "gateway-server.ts"), {
    ...shared,
    BENCH_CORE_PORT: String(core.port),
    BENCH_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
    BENCH_GRAPH_URL: `http://127.0.0.1:${sink.port}`,
  });
  // The gateway stops first, while the core and the sink still answer its last calls and sends.
  started.unshift(gateway);
  return { bare, gateway, core, sink };
}

/**
 * Before loading: both targets answer a signed webhook with 200 and a forged one with 401, and the
 * gateway's webhook comes back to the sink as a balance reply.
 */
async function checkTargets(p: Processes): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  const webhook = webhookSource()(0);
  const forged = { body: webhook.body, signature: hubSignature(webhook.body, "not-the-app-secret") };
  try {
    for (const target of [p.bare, p.gateway]) {
      const before = target === p.gateway ? await sinkCounts(p.sink) : undefined;
      const status = await postWebhook(agent, target.port, webhook);
      const refused = await postWebhook(agent, target.port, forged);
      if (status !== 200 || refused !== 401)
        throw new Error(
          `${target.name} answered ${status} to a signed webhook and ${refused} to a forged one`,
        );
      if (before === undefined) continue;
      const delivery = await awaitDelivery(p.sink, before, 1);
      if (delivery.delivered !== 1 || delivery.unexpected !== 0)
        throw new Error(
          `the check webhook's reply did not reach the sink as a balance: ${JSON.stringify(delivery)}`,
        );
    }
  } finally {
    agent.destroy();
  }
  console.log(
    `gateway on port ${p.gateway.port} → core on ${p.core.port} (${String(p.core.announced.customers)} customers) ` +
      `→ sink on ${p.sink.port}; bare handler on ${p.bare.port}: both check signatures, the reply came back`,
  );
}

async function measureAll(
  p: Processes,
  timing: { warmupMs: number; durationMs: number },
): Promise<WebhookRow[]> {
  const targets: WebhookTarget[] = [
    { name: "bare", server: p.bare },
    { name: "gateway", server: p.gateway, core: p.core, sink: p.sink },
  ];
  const rows: WebhookRow[] = [];
  for (const connections of CONNECTIONS) {
    let baseline: number | undefined;
    for (const target of targets) {
      const measured = await measureRow(target, connections, timing);
      const row =
        baseline === undefined ? measured : { ...measured, ratio: measured.result.callsPerSecond / baseline };
      if (target.name === "bare") baseline = row.result.callsPerSecond;
      const delivery = row.delivery ? `, ${row.delivery.delivered}/${row.delivery.expected} replies` : "";
      console.log(
        `  ${target.name} × ${connections}: ${row.result.callsPerSecond.toFixed(0)} requests/s, ` +
          `p99 ${row.result.p99Ms.toFixed(1)} ms${delivery}`,
      );
      rows.push(row);
    }
  }
  return rows;
}

/** Counts the Redis commands and SQL statements of CENSUS_WEBHOOKS webhooks through the gateway. */
async function runCensus(p: Processes, url: string): Promise<Census> {
  const connections = 8;
  const sqlBefore = await p.core.stats();
  const sinkBefore = await sinkCounts(p.sink);
  const prefixes = { gateway: String(p.gateway.announced.prefix), core: String(p.core.announced.prefix) };
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const next = webhookSource();
  let ok = 0;
  const redis = await redisCensus(url, prefixes, async () => {
    let seq = 0;
    const worker = async () => {
      while (seq < CENSUS_WEBHOOKS)
        if ((await postWebhook(agent, p.gateway.port, next(seq++))) === 200) ok += 1;
    };
    await Promise.all(Array.from({ length: connections }, worker));
    await awaitDelivery(p.sink, sinkBefore, ok);
  });
  agent.destroy();
  const sqlAfter = await p.core.stats();
  const delta = (key: string) => Number(sqlAfter[key]) - Number(sqlBefore[key]);
  if (ok !== CENSUS_WEBHOOKS) console.error(`census: ${CENSUS_WEBHOOKS - ok} webhooks not answered 200`);
  return {
    webhooks: ok,
    connections,
    redis,
    sqlQueries: delta("queries"),
    sqlTransactions: delta("transactions"),
  };
}

function reportFailures(rows: readonly WebhookRow[], census: Census): boolean {
  let failed = census.webhooks !== CENSUS_WEBHOOKS;
  for (const row of rows) {
    if (row.result.errorCount > 0) {
      const labels = [...row.result.errors].map(([label, n]) => `${label}: ${n}`).join(", ");
      console.error(
        `${row.target} × ${row.connections}: ${row.result.errorCount} non-200 answers (${labels})`,
      );
      failed = true;
    }
    const d = row.delivery;
    if (d && d.delivered < d.expected) {
      console.error(`${row.target} × ${row.connections}: ${d.expected - d.delivered} replies lost`);
      failed = true;
    }
  }
  return failed;
}

/** Stops every child in order; true when one did not exit cleanly (its cleanup may be incomplete). */
async function stopAll(started: readonly ChildServer[]): Promise<boolean> {
  let failed = false;
  for (const server of started) {
    const code = await server.stop();
    if (code !== 0) {
      console.error(`${server.name} server exited with code ${code} (cleanup incomplete?)`);
      failed = true;
    }
  }
  return failed;
}

function printProfiles(started: readonly ChildServer[]): void {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return;
  for (const server of started) {
    const path = profileOf(dir, server.pid);
    if (path) console.log(`\n### ${server.name} (${path})\n\n${profileTables(summariseProfile(path))}`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("webhook bench failed:", err);
    process.exit(1);
  },
);
