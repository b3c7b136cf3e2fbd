import { performance } from "node:perf_hooks";
import type { BenchChannelName, ProviderName } from "./bench-identities.js";
import type { ChildServer } from "./child-server.js";
import { type LoadResult, runClosedLoop } from "./load.js";
import { cpuMsBetween, machineTicks, namedProcessesCpuMs } from "./process-cpu.js";
import { createWebhookLoad, type RequestSource } from "./webhook-client.js";

/**
 * One row of the webhook benchmark: a closed loop of one channel's signed requests against one
 * target at one number of connections, the CPU every process involved spent on it, and, for the
 * gateway, the replies its channel's send API (or the web chat's mailbox) received once the
 * outbox drained.
 */

/** Longest wait after the load for the outbox to deliver every reply it owes (issue 4, item 7). */
export const DRAIN_TIMEOUT_MS = 30_000;

/** Where a channel's replies arrive: a provider fake of the sink child, or the web chat's mailbox. */
export interface ReplySink {
  /** What has arrived so far. */
  counts(): Promise<SinkCounts>;
  /** CPU time the receiver has used so far, in ms; NaN when it is no process of its own. */
  cpuMs(): number;
}

/** The processes of one row and its requests. `core` and `sink` are absent for the bare handler. */
export interface WebhookTarget {
  readonly name: "bare" | "gateway";
  /** The channel whose requests the row sends (bench/channel-sources.ts). */
  readonly channel: BenchChannelName;
  readonly server: ChildServer;
  /** A fresh source of the channel's requests, made before the row's load starts. */
  source(): Promise<RequestSource>;
  readonly core?: ChildServer;
  readonly sink?: ReplySink;
}

/** What the sink received for one gateway row. */
export interface Delivery {
  /** Requests accepted (2xx), warm-up included: each owes one reply. */
  readonly expected: number;
  /** Replies the sink accepted for this row by the end of the drain wait. */
  readonly delivered: number;
  /** Of those, replies that were not a balance (a refusal such as "slow down"). */
  readonly unexpected: number;
  /** Replies still owed when the load stopped: how far the outbox had fallen behind. */
  readonly backlogAtEnd: number;
  /** Seconds from the end of the load to the last owed reply (or to the timeout). */
  readonly drainSeconds: number;
}

/** One measured (target, connections) pair; CPU figures are µs per request sent, warm-up included. */
export interface WebhookRow {
  readonly target: WebhookTarget["name"];
  readonly channel: BenchChannelName;
  readonly connections: number;
  /** Size of the row's first request body, in bytes. */
  readonly bodyBytes: number;
  readonly result: LoadResult;
  readonly serverCpuUs: number;
  /** The core child's CPU, for the gateway; NaN for the bare handler. */
  readonly coreCpuUs: number;
  /** The send API sink child's CPU, for the gateway; NaN for the bare handler and the web chat. */
  readonly sinkCpuUs: number;
  /** redis-server and every postgres process, whoever they served. */
  readonly redisCpuUs: number;
  readonly postgresCpuUs: number;
  readonly clientCpuUs: number;
  /** Share of all cores busy during the load (warm-up included), 0–1. */
  readonly machineBusy: number;
  readonly delivery?: Delivery;
  /** This row's requests/s over the bare handler's at the same connections; undefined for the baseline. */
  readonly ratio?: number;
}

/** Measures `target` at `connections` for warm-up plus duration, then waits for the sink if any. */
export async function measureRow(
  target: WebhookTarget,
  connections: number,
  timing: { warmupMs: number; durationMs: number },
): Promise<WebhookRow> {
  const source = await target.source();
  const before = cpuSnapshot(target);
  const sinkBefore = target.sink ? await target.sink.counts() : undefined;
  const ticks = machineTicks();
  const load = createWebhookLoad(target.server.port, connections, source);
  let result: LoadResult;
  try {
    result = await runClosedLoop(load.call, { concurrency: connections, ...timing });
  } finally {
    load.close();
  }
  const ticksAfter = machineTicks();
  const delivery =
    target.sink && sinkBefore ? await awaitDelivery(target.sink, sinkBefore, load.okCount()) : undefined;
  const after = cpuSnapshot(target);
  const perRequest = (key: "server" | "core" | "sink" | "client") =>
    ((after[key] - before[key]) * 1000) / result.sent;
  const perRequestOf = (key: "redis" | "postgres") =>
    (cpuMsBetween(before[key], after[key]) * 1000) / result.sent;
  return {
    target: target.name,
    channel: target.channel,
    connections,
    bodyBytes: source(0).body.length,
    result,
    serverCpuUs: perRequest("server"),
    coreCpuUs: target.core ? perRequest("core") : Number.NaN,
    sinkCpuUs: target.sink ? perRequest("sink") : Number.NaN,
    redisCpuUs: perRequestOf("redis"),
    postgresCpuUs: perRequestOf("postgres"),
    clientCpuUs: perRequest("client"),
    machineBusy: (ticksAfter.busy - ticks.busy) / (ticksAfter.total - ticks.total),
    delivery,
  };
}

interface CpuSnapshot {
  readonly server: number;
  readonly core: number;
  readonly sink: number;
  readonly redis: ReadonlyMap<number, number>;
  readonly postgres: ReadonlyMap<number, number>;
  readonly client: number;
}

function cpuSnapshot(target: WebhookTarget): CpuSnapshot {
  const client = process.cpuUsage();
  return {
    server: target.server.cpuMs(),
    core: target.core?.cpuMs() ?? Number.NaN,
    sink: target.sink?.cpuMs() ?? Number.NaN,
    redis: namedProcessesCpuMs("redis-server"),
    postgres: namedProcessesCpuMs("postgres"),
    client: (client.user + client.system) / 1000,
  };
}

/** What a sink has received since it started (bench/provider-sink-server.ts, bench/mailbox-sink.ts). */
export interface SinkCounts {
  /** Replies accepted. */
  readonly delivered: number;
  /** Accepted replies whose text is a balance: the answer every bench message should get. */
  readonly balance: number;
  /** Accepted replies with any other text (a refusal such as "You are sending messages faster…"). */
  readonly other: number;
  /** Requests that reached the sink and were not accepted (wrong token, body or path). */
  readonly refused: number;
}

/** The replies of `channel` as the sink child's provider fake for it counts them. */
export function providerSink(sink: ChildServer, channel: ProviderName): ReplySink {
  return {
    counts: async () => (await sink.stats())[channel] as SinkCounts,
    cpuMs: () => sink.cpuMs(),
  };
}

/**
 * Polls the sink until it has received `expected` replies more than `before`, or DRAIN_TIMEOUT_MS
 * passed; then reports what arrived.
 */
export async function awaitDelivery(
  sink: ReplySink,
  before: SinkCounts,
  expected: number,
): Promise<Delivery> {
  const started = performance.now();
  const atEnd = await sink.counts();
  let now = atEnd;
  while (now.delivered - before.delivered < expected && performance.now() - started < DRAIN_TIMEOUT_MS) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    now = await sink.counts();
  }
  return {
    expected,
    delivered: now.delivered - before.delivered,
    unexpected: now.other - before.other + (now.refused - before.refused),
    backlogAtEnd: Math.max(0, expected - (atEnd.delivered - before.delivered)),
    drainSeconds: (performance.now() - started) / 1000,
  };
}
