import type { ChildServer } from "./child-server.js";
import { type BenchCall, type LoadOptions, runClosedLoop } from "./load.js";
import type { ResultRow } from "./results.js";

/**
 * One row of a gRPC benchmark (bench/handle-message.bench.ts, bench/tls.bench.ts): a closed loop
 * against one server child at one concurrency, with the CPU the server and this client process
 * spent per call, and the ratio to a baseline row measured moments before on the same machine.
 */

/** A server under load and how to call it. */
export interface GrpcTarget {
  readonly name: string;
  readonly server: ChildServer;
  /** A fresh BenchCall per row, so message ids never repeat across rows. */
  callFor(): BenchCall;
}

/** Measures `target` under `load`; the row's ratio is its calls/s over `baseline` (none for the baseline). */
export async function measureGrpcRow(
  target: GrpcTarget,
  load: LoadOptions,
  baseline: number | undefined,
): Promise<ResultRow> {
  const serverBefore = target.server.cpuMs();
  const clientBefore = process.cpuUsage();
  const result = await runClosedLoop(target.callFor(), load);
  const client = process.cpuUsage(clientBefore);
  const serverMs = target.server.cpuMs() - serverBefore;
  return {
    target: target.name,
    concurrency: load.concurrency,
    result,
    serverCpuUs: (serverMs * 1000) / result.sent,
    clientCpuUs: (client.user + client.system) / result.sent,
    ratio: baseline === undefined ? undefined : result.callsPerSecond / baseline,
  };
}

/** Prints every row with failed calls, by label; true when there was one. */
export function reportErrors(rows: readonly ResultRow[]): boolean {
  const failing = rows.filter((row) => row.result.errorCount > 0);
  for (const row of failing) {
    const labels = [...row.result.errors].map(([label, n]) => `${label}: ${n}`).join(", ");
    console.error(`${row.target} × ${row.concurrency}: ${row.result.errorCount} failed calls (${labels})`);
  }
  return failing.length > 0;
}
