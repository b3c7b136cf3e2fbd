import { Agent } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { postgresUrl } from "../test/support/postgres.js";
import { redisUrl } from "../test/support/redis.js";
import { readSeconds } from "./bench-env.js";
import { checkChannel, checkEventStream } from "./channel-checks.js";
import { channelSection, channelTable, channelVerdict } from "./channel-report.js";
import { measurePair, type RowTiming, rowFailures } from "./channel-rows.js";
import { BENCH_CHANNEL_SOURCES, type BenchChannel } from "./channel-sources.js";
import type { ChildServer } from "./child-server.js";
import { redisCensus } from "./redis-census.js";
import { runInfo, writeResultsSection } from "./results.js";
import { accepted, postRequest, webhookSource } from "./webhook-client.js";
import {
  printProfiles,
  readChannels,
  sinkOf,
  startProcesses,
  stopAll,
  type WebhookProcesses,
} from "./webhook-processes.js";
import { type Census, censusTable, verdict, webhookSection, webhookTable } from "./webhook-report.js";
import { awaitDelivery, type WebhookRow } from "./webhook-rows.js";

/**
 * The end-to-end benchmark of the gateways (issue 4, item 7; issue 6): signed webhooks over
 * HTTP/1.1 keep-alive to the real gateway process (→ core → Redis outbox → the channel's send API
 * fake), next to a bare Koa handler that only checks authenticity, every server in a child
 * process. First WhatsApp at 8 and 64 connections and a census of its round trips; then, in the
 * same run, every channel (WhatsApp, Messenger, Instagram, Telegram, Twilio, the web chat) at 8
 * connections in shorter rows. Prints the tables and the verdicts against DESIGN.md, writes the
 * "webhook" and "webhook-channels" sections of bench/RESULTS.md, and exits non-zero when a request
 * failed or a reply was lost. BENCH_SECONDS (default 10) and BENCH_WARMUP_SECONDS (default 2) set
 * the WhatsApp rows' times, BENCH_CHANNEL_SECONDS (default 5, or BENCH_SECONDS when that is
 * shorter) the channel rows' (after 1 s of warm-up). BENCH_CPU_PROF=<dir> also profiles the
 * servers; BENCH_CONNECTIONS (e.g. "8") narrows the WhatsApp rows and BENCH_CHANNELS (e.g.
 * "telegram,web") the channel rows. Profiled or narrowed runs are diagnoses: they print but leave
 * bench/RESULTS.md alone.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
/** Connections per WhatsApp row; BENCH_CONNECTIONS (e.g. "8") narrows a profiling run to some of them. */
const CONNECTIONS = (process.env.BENCH_CONNECTIONS || "8,64").split(",").map(Number);
/** Connections of every channel row: DESIGN.md's p99 target is set at 8. */
const CHANNEL_CONNECTIONS = 8;
const CHANNEL_WARMUP_SECONDS = 1;
/** Profiled or narrowed runs are diagnoses: they print but leave bench/RESULTS.md alone. */
const DIAGNOSIS = Boolean(
  process.env.BENCH_CPU_PROF || process.env.BENCH_CONNECTIONS || process.env.BENCH_CHANNELS,
);
const CENSUS_WEBHOOKS = 400;

/** The run's settings, from the environment. */
interface Settings {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly channelSeconds: number;
  readonly channels: readonly BenchChannel[];
}

function readSettings(): Settings {
  if (!CONNECTIONS.every((n) => Number.isInteger(n) && n > 0))
    throw new Error(`BENCH_CONNECTIONS must list positive integers, got "${process.env.BENCH_CONNECTIONS}"`);
  const seconds = readSeconds("BENCH_SECONDS", 10);
  return {
    seconds,
    warmupSeconds: readSeconds("BENCH_WARMUP_SECONDS", 2),
    channelSeconds: readSeconds("BENCH_CHANNEL_SECONDS", Math.min(5, seconds)),
    channels: readChannels().map((name) => BENCH_CHANNEL_SOURCES[name]),
  };
}

async function main(): Promise<number> {
  const settings = readSettings();
  // Found once here and handed down, so every child shares one Redis and one PostgreSQL server.
  const shared = { REDIS_URL: await redisUrl(), DATABASE_URL: await postgresUrl() };
  const started: ChildServer[] = [];
  let processes: WebhookProcesses | undefined;
  let failures: string[] = [];
  try {
    processes = await startProcesses(shared, started);
    await checkAll(processes, settings.channels);
    const info = runInfo();
    const whatsapp = await runWhatsAppTable(processes, shared.REDIS_URL, {
      warmupMs: settings.warmupSeconds * 1000,
      durationMs: settings.seconds * 1000,
    });
    const channels = await runChannelTable(processes, settings);
    if (!DIAGNOSIS) {
      const path = join(HERE, "RESULTS.md");
      const { seconds, warmupSeconds } = settings;
      const censusWebhooks = CENSUS_WEBHOOKS;
      const whatsappBody = webhookSection({
        info,
        ...whatsapp.report,
        seconds,
        warmupSeconds,
        censusWebhooks,
      });
      writeResultsSection({ path, name: "webhook", body: whatsappBody });
      writeResultsSection({
        path,
        name: "webhook-channels",
        body: channelSection({ info, ...channels.report }),
      });
    }
    failures = [...whatsapp.failures, ...channels.failures];
  } finally {
    await processes?.mailbox.close();
    if (await stopAll(started)) failures.push("a server did not exit cleanly");
  }
  for (const failure of failures) console.error(failure);
  printProfiles(started);
  return failures.length > 0 ? 1 : 0;
}

/** Checks WhatsApp (the first table's channel) and every channel of the run, then the web chat's event stream. */
async function checkAll(p: WebhookProcesses, channels: readonly BenchChannel[]): Promise<void> {
  const checked = [...new Set([BENCH_CHANNEL_SOURCES.whatsapp, ...channels])];
  for (const channel of checked) await checkChannel(p, channel);
  const streamed = checked.some((c) => c.name === "web") ? await checkEventStream(p.gateway.port) : undefined;
  console.log(
    `gateway on port ${p.gateway.port} → core on ${p.core.port} (${String(p.core.announced.customers)} customers) ` +
      `→ send API fakes in the sink child; bare handler on ${p.bare.port}. Both check ` +
      `${checked.map((c) => c.name).join(", ")}, and every reply came back.`,
  );
  if (streamed !== undefined)
    console.log(`A new web chat visitor's reply came through /chat/events: "${streamed}"`);
}

/** Every channel's pair of rows at CHANNEL_CONNECTIONS, their table and verdict; what failed in them. */
async function runChannelTable(p: WebhookProcesses, settings: Settings) {
  const { channels, channelSeconds } = settings;
  console.log(
    `\nEvery channel for ${CHANNEL_WARMUP_SECONDS} s warm-up + ${channelSeconds} s at ${CHANNEL_CONNECTIONS} connections…`,
  );
  const rows: WebhookRow[] = [];
  const timing = { warmupMs: CHANNEL_WARMUP_SECONDS * 1000, durationMs: channelSeconds * 1000 };
  for (const channel of channels) rows.push(...(await measurePair(p, channel, CHANNEL_CONNECTIONS, timing)));
  const table = channelTable(rows);
  const verdictLines = channelVerdict(rows);
  console.log(`\n${table}\n\n${verdictLines.join("\n")}\n`);
  const report = {
    table,
    verdictLines,
    channels,
    connections: CHANNEL_CONNECTIONS,
    seconds: channelSeconds,
    warmupSeconds: CHANNEL_WARMUP_SECONDS,
  };
  return { report, failures: rowFailures(rows) };
}

/** The WhatsApp table at every CONNECTIONS, its verdict and the census; what failed in them. */
async function runWhatsAppTable(p: WebhookProcesses, redis: string, timing: RowTiming) {
  console.log(
    `Loading WhatsApp on each target for ${timing.warmupMs / 1000} s warm-up + ${timing.durationMs / 1000} s ` +
      `at ${CONNECTIONS.join(" and ")} connections…`,
  );
  const rows: WebhookRow[] = [];
  for (const connections of CONNECTIONS)
    rows.push(...(await measurePair(p, BENCH_CHANNEL_SOURCES.whatsapp, connections, timing)));
  const census = await runCensus(p, redis);
  const table = webhookTable(rows);
  const { lines } = verdict(rows);
  const censusText = censusTable(census);
  console.log(`\n${table}\n\n${lines.join("\n")}\n\n${censusText}\n`);
  const failures = rowFailures(rows);
  if (census.webhooks !== CENSUS_WEBHOOKS)
    failures.push(`census: ${CENSUS_WEBHOOKS - census.webhooks} webhooks not answered 200`);
  return { report: { table, verdictLines: lines, census: censusText }, failures };
}

/** Counts the Redis commands and SQL statements of CENSUS_WEBHOOKS WhatsApp webhooks through the gateway. */
async function runCensus(p: WebhookProcesses, url: string): Promise<Census> {
  const connections = 8;
  const sink = sinkOf(p, "whatsapp");
  const sqlBefore = await p.core.stats();
  const sinkBefore = await sink.counts();
  const prefixes = { gateway: String(p.gateway.announced.prefix), core: String(p.core.announced.prefix) };
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const next = webhookSource();
  let ok = 0;
  const redis = await redisCensus(url, prefixes, async () => {
    let seq = 0;
    const worker = async () => {
      while (seq < CENSUS_WEBHOOKS)
        if (accepted(await postRequest(agent, p.gateway.port, next(seq++)))) ok += 1;
    };
    await Promise.all(Array.from({ length: connections }, worker));
    await awaitDelivery(sink, sinkBefore, ok);
  });
  agent.destroy();
  const sqlAfter = await p.core.stats();
  const delta = (key: string) => Number(sqlAfter[key]) - Number(sqlBefore[key]);
  return {
    webhooks: ok,
    connections,
    redis,
    sqlQueries: delta("queries"),
    sqlTransactions: delta("transactions"),
  };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("webhook bench failed:", err);
    process.exit(1);
  },
);
