import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConversationService } from "../gen/teller/v1/conversation_service_pb.js";
import { makeTestCerts } from "../test/support/certs.js";
import { readSeconds } from "./bench-env.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import {
  type BenchCaller,
  checkBalanceReply,
  createBenchCaller,
  handleMessageRequests,
} from "./core-calls.js";
import { createBenchClient, unaryBenchCall } from "./grpc-caller.js";
import { type GrpcTarget, measureGrpcRow, reportErrors } from "./grpc-rows.js";
import { type LoadOptions, runClosedLoop } from "./load.js";
import { markdownTable, type ResultRow, runInfo, writeResultsSection } from "./results.js";
import { againstH2c, REPEAT_NAME, type TlsReport, tlsSection } from "./tls-report.js";
import {
  type CoreTransport,
  checkTransports,
  coreTransports,
  freshConnectionCall,
  negotiated,
} from "./tls-transports.js";

/**
 * `make bench`: what TLS on the core's gRPC port costs (issue 7). One core child serves the same
 * core over h2c, TLS and mutual TLS; HandleMessage is loaded on each at 8 and 64 calls in flight,
 * first over one long-lived connection per transport (as a gateway calls), then with one call per
 * fresh connection (handshake included, as in a storm of reconnecting gateways). At each
 * concurrency h2c is measured first and again last, and every row is compared with the mean of the
 * two, so a steady drift of the shared machine cancels and their spread shows the run's noise.
 * Prints the tables, writes
 * the "tls" section of bench/RESULTS.md, and exits non-zero when any call failed. BENCH_SECONDS
 * (default 5) and BENCH_WARMUP_SECONDS (default 2) set the long-lived rows' measured and warm-up
 * time; each fresh-connection row is 1 s of warm-up then CONNECTIONS connections.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const CONCURRENCIES = [8, 64] as const;
/** Connections opened in each fresh-connection row, after its warm-up. */
const CONNECTIONS = 500;
const CONNECTION_WARMUP_SECONDS = 1;
/** Bound on a fresh-connection row, should connections be far slower than expected. */
const CONNECTION_ROW_MAX_MS = 60_000;
/** The tables' last column: each row's calls/s over the mean of the h2c rows at the same concurrency. */
const RATIO_HEADER = "÷ h2c mean calls/s";

async function main(): Promise<number> {
  const seconds = readSeconds("BENCH_SECONDS", 5);
  const warmupSeconds = readSeconds("BENCH_WARMUP_SECONDS", 2);
  const caller = await createBenchCaller();
  const certs = await makeTestCerts();
  let core: ChildServer | undefined;
  let failed = false;
  try {
    core = await startChildServer("core", join(HERE, "core-server.ts"), {
      BENCH_JWKS: caller.jwks,
      BENCH_TLS_CERT_FILE: certs.server.certFile,
      BENCH_TLS_KEY_FILE: certs.server.keyFile,
      BENCH_TLS_CLIENT_CA_FILE: certs.ca.certFile,
    });
    const transports = coreTransports(core, certs);
    await checkTransports(transports, certs, caller.headers);
    const handshake = await negotiated(transports[1]?.port as number, certs.ca.cert);
    console.log(
      `core is up with ${String(core.announced.customers)} customers and answers a balance over ` +
        `${transports.map((t) => `${t.name} (port ${t.port})`).join(", ")}; TLS negotiates ${handshake}.`,
    );
    const steady = await measureSteady(core, transports, caller, {
      warmupMs: warmupSeconds * 1000,
      durationMs: seconds * 1000,
    });
    const storm = await measureStorm(core, transports, caller);
    writeReport({ handshake, seconds, warmupSeconds, steady, storm });
    failed = reportErrors([...steady, ...storm]);
  } finally {
    failed = (await stopCore(core)) || failed;
    await certs.cleanup();
  }
  return failed ? 1 : 0;
}

/** Prints the tables and what they show, and writes them as the "tls" section of bench/RESULTS.md. */
function writeReport(
  measured: Pick<TlsReport, "handshake" | "seconds" | "warmupSeconds" | "steady" | "storm">,
) {
  const body = tlsSection({
    ...measured,
    info: runInfo(),
    connections: CONNECTIONS,
    connectionWarmupSeconds: CONNECTION_WARMUP_SECONDS,
    steadyTable: markdownTable(measured.steady, RATIO_HEADER),
    stormTable: markdownTable(measured.storm, RATIO_HEADER),
  });
  console.log(`\n${body.slice(body.indexOf("Long-lived connection:\n"))}\n`);
  writeResultsSection({ path: join(HERE, "RESULTS.md"), name: "tls", body });
}

/** Each transport over one long-lived channel, as a gateway calls the core. */
async function measureSteady(
  core: ChildServer,
  transports: readonly CoreTransport[],
  caller: BenchCaller,
  timing: { warmupMs: number; durationMs: number },
): Promise<ResultRow[]> {
  console.log(
    `\nLong-lived connections: ${timing.warmupMs / 1000} s of load on each to warm up, then ` +
      `${timing.warmupMs / 1000} s warm-up + ${timing.durationMs / 1000} s at ${CONCURRENCIES.join(" and ")} in flight…`,
  );
  const method = ConversationService.method.handleMessage;
  const clients = transports.map((t) => createBenchClient(t.port, t.credentials));
  const targets = withRepeat(
    transports.map((t, i) => {
      const client = clients[i] as (typeof clients)[number];
      const callFor = () =>
        unaryBenchCall(client, method, handleMessageRequests(), caller.headers, checkBalanceReply);
      return { name: t.name, server: core, callFor };
    }),
  );
  try {
    return await measureRows(targets, timing.warmupMs, (concurrency) => ({ concurrency, ...timing }));
  } finally {
    for (const client of clients) client.close();
  }
}

/** Each transport with one call per fresh connection, CONNECTIONS of them per row. */
async function measureStorm(
  core: ChildServer,
  transports: readonly CoreTransport[],
  caller: BenchCaller,
): Promise<ResultRow[]> {
  console.log(
    `\nFresh connections: ${CONNECTION_WARMUP_SECONDS} s of load on each to warm up, then ` +
      `${CONNECTION_WARMUP_SECONDS} s warm-up + ${CONNECTIONS} connections ` +
      `at ${CONCURRENCIES.join(" and ")} in flight…`,
  );
  const targets = withRepeat(
    transports.map((t) => ({
      name: t.name,
      server: core,
      callFor: () => freshConnectionCall(t, caller.headers),
    })),
  );
  return measureRows(targets, CONNECTION_WARMUP_SECONDS * 1000, (concurrency) => ({
    concurrency,
    warmupMs: CONNECTION_WARMUP_SECONDS * 1000,
    durationMs: CONNECTION_ROW_MAX_MS,
    maxCalls: CONNECTIONS,
  }));
}

/** The targets, then the first (h2c) again under REPEAT_NAME, so h2c brackets the others. */
function withRepeat(targets: readonly GrpcTarget[]): GrpcTarget[] {
  const first = targets[0] as GrpcTarget;
  return [...targets, { ...first, name: REPEAT_NAME }];
}

/**
 * First `prewarmMs` of unrecorded load at 64 in flight on each target, without which the first
 * row would also warm the core and the client (JIT, pools, caches) and look slower than the rest;
 * then at each concurrency every target in turn, with ratios against the h2c rows' mean (againstH2c).
 */
async function measureRows(
  targets: readonly GrpcTarget[],
  prewarmMs: number,
  loadAt: (concurrency: number) => LoadOptions,
): Promise<ResultRow[]> {
  for (const target of targets)
    await runClosedLoop(target.callFor(), { concurrency: 64, warmupMs: prewarmMs, durationMs: 0 });
  const rows: ResultRow[] = [];
  for (const concurrency of CONCURRENCIES) {
    const measured: ResultRow[] = [];
    for (const target of targets) {
      const row = await measureGrpcRow(target, loadAt(concurrency), undefined);
      console.log(`  ${target.name} × ${concurrency}: ${row.result.callsPerSecond.toFixed(0)} calls/s`);
      measured.push(row);
    }
    rows.push(...againstH2c(measured));
  }
  return rows;
}

/** Stops the core child; true when it did not exit cleanly (its cleanup may be incomplete). */
async function stopCore(core: ChildServer | undefined): Promise<boolean> {
  if (core === undefined) return false;
  const code = await core.stop();
  if (code !== 0) console.error(`core server exited with code ${code} (cleanup incomplete?)`);
  return code !== 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("tls bench failed:", err);
    process.exit(1);
  },
);
