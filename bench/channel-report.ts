import type { BenchChannel } from "./channel-sources.js";
import type { RunInfo } from "./results.js";
import { CUSTOMER_COUNT } from "./seed-customers.js";
import { WEBHOOK_TEXT } from "./webhook-client.js";
import { COLUMNS, columnsTable, TARGETS } from "./webhook-report.js";
import { DRAIN_TIMEOUT_MS, type WebhookRow } from "./webhook-rows.js";

/**
 * The report of the per-channel rows of the webhook benchmark: one table with every channel's
 * bare and gateway rows, the targets of DESIGN.md applied to each channel, and the section of
 * bench/RESULTS.md (marker "webhook-channels") that holds them, beside the WhatsApp section.
 */

const CHANNEL_COLUMNS = [
  COLUMNS.channel,
  COLUMNS.target,
  COLUMNS.connections,
  COLUMNS.bodyBytes,
  COLUMNS.rate,
  COLUMNS.p50,
  COLUMNS.p99,
  COLUMNS.errors,
  COLUMNS.replies,
  COLUMNS.drain,
  COLUMNS.serverCpu,
  COLUMNS.coreCpu,
  COLUMNS.sinkCpu,
  COLUMNS.clientCpu,
  COLUMNS.busy,
  COLUMNS.ratio,
];

/** The channel rows as a markdown table. */
export function channelTable(rows: readonly WebhookRow[]): string {
  return columnsTable(CHANNEL_COLUMNS, rows, 3);
}

/** One line per channel: its ratio, its p99 and its replies against DESIGN.md's webhook targets. */
export function channelVerdict(rows: readonly WebhookRow[]): string[] {
  const mark = (ok: boolean) => (ok ? "met" : "**missed**");
  return rows
    .filter((row) => row.target === "gateway")
    .map((row) => {
      const ratio = row.ratio ?? 0;
      const p99 = row.result.p99Ms;
      const d = row.delivery;
      const replies =
        d && d.delivered === d.expected && d.unexpected === 0 ? "all delivered" : "**not all delivered**";
      return (
        `- ${row.channel}: ${ratio.toFixed(3)}× the bare handler (≥ ${TARGETS.minRatio}×: ${mark(ratio >= TARGETS.minRatio)}), ` +
        `p99 ${p99.toFixed(2)} ms (≤ ${TARGETS.maxP99Ms} ms: ${mark(p99 <= TARGETS.maxP99Ms)}), replies ${replies}.`
      );
    });
}

/** One sub-item per way of proving authenticity, naming the channels that use it. */
function authenticityLines(channels: readonly BenchChannel[]): string {
  const byCheck = new Map<string, string[]>();
  for (const c of channels) byCheck.set(c.authenticity, [...(byCheck.get(c.authenticity) ?? []), c.name]);
  return [...byCheck].map(([check, names]) => `  - ${names.join(", ")}: ${check}`).join("\n");
}

/** The "webhook-channels" section of bench/RESULTS.md. */
export function channelSection(options: {
  info: RunInfo;
  table: string;
  verdictLines: readonly string[];
  channels: readonly BenchChannel[];
  connections: number;
  seconds: number;
  warmupSeconds: number;
}): string {
  const { info } = options;
  const checks = authenticityLines(options.channels);
  return `## Every channel's webhook path: the gateway (→ core → outbox → the channel's send API) against a bare Koa check of the same authenticity

- Date: ${info.date}
- Machine: ${info.machine}, ${info.cores} cores, ${info.platform}, Node ${info.node}
- Same run, same processes as the WhatsApp section above, after its rows and census. Load: node:http keep-alive
  Agent, closed loop at ${options.connections} connections, ${options.warmupSeconds} s warm-up then ${options.seconds} s per row (shorter than the WhatsApp
  table's rows, to keep \`make bench\` short); each channel on the bare handler, then on the gateway.
- Requests: built by the gateways' own provider simulators (\`gateways/*/simulate.ts\`), signed as the provider signs,
  "${WEBHOOK_TEXT}" with a new message id each (wamid, mid, update_id, MessageSid, the web chat's UUID); senders
  cycle over ${CUSTOMER_COUNT.toLocaleString("en")} seeded customers, whose Messenger, Instagram, Telegram and web chat identities the core child
  linked before the run (\`bench/bench-identities.ts\`), so every message is a linked customer's balance request.
  WhatsApp bodies are padded to 1,024 bytes as in the table above; the others are their natural size.
- Authenticity, checked by both targets with the gateway's own check functions:
${checks}
- gateway: the same child as above, every channel on. Replies go to the behaviour suite's fakes of the send APIs
  (\`test/support/fake-*.ts\`: Cloud API, Send API ×2, Bot API sendMessage, Twilio Messages API, each checking path,
  token and body) in the sink child; the web chat's go to the visitors' mailboxes in Redis, which this process reads
  as the event stream does (\`bench/mailbox-sink.ts\`; one reply was also read through a real \`/chat/events\` stream
  before the load). "Replies delivered" waits up to ${DRAIN_TIMEOUT_MS / 1000} s after the load for the outbox to drain.
- web: POST /chat/messages with the visitor's session token, answered 202; the bare handler verifies the same token
  (\`authenticateVisitor\`) and answers 202. Twilio: SMS (WhatsApp through Twilio takes the same route).
- CPU µs/req as in the section above; the web chat has no sink process (its mailbox reads are this process's).
- The machine is shared and every process runs on the same ${info.cores} cores: the gateway/bare ratios are the comparable
  figure, between channels as between runs.

${options.table}

Against DESIGN.md's webhook targets (set for WhatsApp, applied here to each channel at ${options.connections} connections):

${options.verdictLines.join("\n")}`;
}
