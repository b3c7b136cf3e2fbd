import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import type * as grpc from "@grpc/grpc-js";
import { ConversationService } from "../gen/teller/v1/conversation_service_pb.js";
import { GetSessionStatsRequestSchema, SessionService } from "../gen/teller/v1/session_service_pb.js";
import { readSeconds } from "./bench-env.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import {
  checkBalanceReply,
  createBenchCaller,
  expectBalance,
  HANDLE_TEXT,
  handleMessageRequests,
} from "./core-calls.js";
import { createBenchClient, unaryBenchCall } from "./grpc-caller.js";
import { type GrpcTarget, measureGrpcRow, reportErrors } from "./grpc-rows.js";
import { markdownTable, type ResultRow, type RunInfo, runInfo, writeResultsSection } from "./results.js";
import { CUSTOMER_COUNT } from "./seed-customers.js";

/**
 * `make bench`: unary HandleMessage through the real core (grpc-js, auth, pipeline, Redis,
 * PostgreSQL) against a bare grpc-js echo, both in child processes, from one grpc-js client over
 * one channel at 8 and 64 calls in flight. Prints the table, writes the handle-message section
 * of bench/RESULTS.md, and exits non-zero when any call failed. BENCH_SECONDS (default 10) and
 * BENCH_WARMUP_SECONDS (default 2) set each row's measured and warm-up time.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const CONCURRENCIES = [8, 64] as const;

/** A server under load, how to call it, and its client (one channel) to close at the end. */
interface Target extends GrpcTarget {
  readonly name: "echo" | "core";
  readonly client: grpc.Client;
}

async function main(): Promise<number> {
  const seconds = readSeconds("BENCH_SECONDS", 10);
  const warmupSeconds = readSeconds("BENCH_WARMUP_SECONDS", 2);
  const { headers, jwks } = await createBenchCaller();
  const started = await Promise.allSettled([
    startChildServer("echo", join(HERE, "echo-server.ts")),
    startChildServer("core", join(HERE, "core-server.ts"), {
      BENCH_JWKS: jwks,
    }),
  ]);
  const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const targets: Target[] = [];
  let failed = false;
  try {
    for (const s of started) if (s.status === "rejected") throw s.reason;
    const [echo, core] = servers as [ChildServer, ChildServer];
    targets.push(echoTarget(echo, headers), coreTarget(core, headers));
    await checkCoreAnswers(targets[1] as Target, headers);
    console.log(
      `Loading each target for ${warmupSeconds} s warm-up + ${seconds} s at ${CONCURRENCIES.join(" and ")} in flight…`,
    );
    const rows = await measureAll(targets, { warmupMs: warmupSeconds * 1000, durationMs: seconds * 1000 });
    const info = runInfo();
    const table = markdownTable(rows);
    console.log(`\n${table}\n`);
    writeResultsSection({
      path: join(HERE, "RESULTS.md"),
      name: "handle-message",
      body: section(info, table, seconds, warmupSeconds),
    });
    failed = reportErrors(rows);
  } finally {
    for (const target of targets) target.client.close();
    for (const server of servers) {
      const code = await server.stop();
      if (code !== 0) {
        console.error(`${server.name} server exited with code ${code} (cleanup incomplete?)`);
        failed = true;
      }
    }
  }
  return failed ? 1 : 0;
}

function echoTarget(server: ChildServer, headers: Record<string, string>): Target {
  const client = createBenchClient(server.port);
  const request = create(GetSessionStatsRequestSchema);
  // The gateway's metadata goes to the baseline too, so both pay for the same bytes on the wire.
  const callFor = () => unaryBenchCall(client, SessionService.method.getSessionStats, () => request, headers);
  return { name: "echo", server, client, callFor };
}

function coreTarget(server: ChildServer, headers: Record<string, string>): Target {
  const client = createBenchClient(server.port);
  const callFor = () =>
    unaryBenchCall(
      client,
      ConversationService.method.handleMessage,
      handleMessageRequests(),
      headers,
      checkBalanceReply,
    );
  return { name: "core", server, client, callFor };
}

/** One call before loading: the core must answer a seeded customer with their balance. */
async function checkCoreAnswers(core: Target, headers: Record<string, string>): Promise<void> {
  const text = await expectBalance(core.client, headers);
  console.log(
    `core is up on port ${core.server.port} with ${String(core.server.announced.customers)} customers: "${text}"`,
  );
}

async function measureAll(
  targets: readonly Target[],
  timing: { warmupMs: number; durationMs: number },
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const concurrency of CONCURRENCIES) {
    let baseline: number | undefined;
    for (const target of targets) {
      const row = await measureGrpcRow(target, { concurrency, ...timing }, baseline);
      if (target.name === "echo") baseline = row.result.callsPerSecond;
      console.log(`  ${target.name} × ${concurrency}: ${row.result.callsPerSecond.toFixed(0)} calls/s`);
      rows.push(row);
    }
  }
  return rows;
}

function section(info: RunInfo, table: string, seconds: number, warmupSeconds: number): string {
  return `## HandleMessage over gRPC: the core against a bare grpc-js echo

- Date: ${info.date}
- Machine: ${info.machine}, ${info.cores} cores, ${info.platform}, Node ${info.node}
- Load: one grpc-js client over one channel, closed loop, ${warmupSeconds} s warm-up then ${seconds} s per row; deadline 10 s.
- core: \`teller.v1.ConversationService/HandleMessage\` (WhatsApp, "${HANDLE_TEXT}", a new message id per call, senders cycling
  over ${CUSTOMER_COUNT.toLocaleString("en")} seeded customers, service token with scope \`conversation\`) on the real core in a child process,
  with real Redis and PostgreSQL on the same machine.
- echo: \`teller.v1.SessionService/GetSessionStats\` answering a fixed response from a bare grpc-js server in a child
  process (same descriptors and serializers, no auth, no stores), sent the same metadata.
- CPU µs/call is process CPU time over every call sent (warm-up included); the core's figure excludes Redis and PostgreSQL.
- The machine is shared, so absolute figures move between runs: the core/echo ratios are the comparable figure.

${table}`;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error("handle-message bench failed:", err);
    process.exit(1);
  },
);
