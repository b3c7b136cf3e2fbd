import type { BenchChannel } from "./channel-sources.js";
import { sinkOf, type WebhookProcesses } from "./webhook-processes.js";
import { measureRow, type WebhookRow } from "./webhook-rows.js";

/**
 * The rows of the webhook benchmark, two at a time: one channel's requests against the bare
 * handler, then the same channel's against the gateway at the same number of connections, so the
 * gateway's row carries its ratio to the bare handler measured moments before, on the same machine.
 */

/** Warm-up and measured time of one row, in milliseconds. */
export interface RowTiming {
  readonly warmupMs: number;
  readonly durationMs: number;
}

/** Measures `channel` on the bare handler and then on the gateway; the gateway row has the ratio. */
export async function measurePair(
  p: WebhookProcesses,
  channel: BenchChannel,
  connections: number,
  timing: RowTiming,
): Promise<[WebhookRow, WebhookRow]> {
  const source = () => channel.source();
  const bare = await measureRow(
    { name: "bare", channel: channel.name, server: p.bare, source },
    connections,
    timing,
  );
  log(bare);
  const measured = await measureRow(
    {
      name: "gateway",
      channel: channel.name,
      server: p.gateway,
      source,
      core: p.core,
      sink: sinkOf(p, channel.name),
    },
    connections,
    timing,
  );
  const gateway = { ...measured, ratio: measured.result.callsPerSecond / bare.result.callsPerSecond };
  log(gateway);
  return [bare, gateway];
}

function log(row: WebhookRow): void {
  const delivery = row.delivery ? `, ${row.delivery.delivered}/${row.delivery.expected} replies` : "";
  const ratio = row.ratio === undefined ? "" : `, ${row.ratio.toFixed(3)}× bare`;
  console.log(
    `  ${row.channel} ${row.target} × ${row.connections}: ${row.result.callsPerSecond.toFixed(0)} requests/s, ` +
      `p99 ${row.result.p99Ms.toFixed(1)} ms${delivery}${ratio}`,
  );
}

/** What went wrong in `rows`: requests not accepted, replies lost or not a balance; one line each. */
export function rowFailures(rows: readonly WebhookRow[]): string[] {
  const failures: string[] = [];
  for (const row of rows) {
    const name = `${row.channel} ${row.target} × ${row.connections}`;
    if (row.result.errorCount > 0) {
      const labels = [...row.result.errors].map(([label, n]) => `${label}: ${n}`).join(", ");
      failures.push(`${name}: ${row.result.errorCount} requests not accepted (${labels})`);
    }
    const d = row.delivery;
    if (d && d.delivered < d.expected) failures.push(`${name}: ${d.expected - d.delivered} replies lost`);
    if (d && d.unexpected > 0) failures.push(`${name}: ${d.unexpected} replies were not a balance`);
  }
  return failures;
}
