import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestKeys } from "../test/support/core.js";
import { BENCH_CHANNELS, type BenchChannelName, benchIdentity } from "./bench-identities.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import { profileOf, profileTables, summariseProfile } from "./cpu-profile.js";
import { createMailboxSink, type MailboxSink } from "./mailbox-sink.js";
import { CUSTOMER_COUNT } from "./seed-customers.js";
import { providerSink, type ReplySink } from "./webhook-rows.js";

/**
 * The processes of the webhook benchmark, each server in a child of its own
 * (bench/child-server.ts): the bare handler, the core (seeded, every customer's chat identities
 * linked), the sink of the channels' send APIs, and the gateway pointed at the core and the sink;
 * plus the reader of the web chat's mailboxes in this process.
 */

const HERE = dirname(fileURLToPath(import.meta.url));

/** The running processes of one benchmark run. */
export interface WebhookProcesses {
  readonly bare: ChildServer;
  readonly gateway: ChildServer;
  readonly core: ChildServer;
  /** The provider fakes: every channel's send API but the web chat's. */
  readonly sink: ChildServer;
  readonly mailbox: MailboxSink;
}

/**
 * Starts the sink, the bare handler and the core, then the gateway with the sink's base URLs. A
 * child that did start is put in `started` even when another failed, so the caller stops it; the
 * gateway comes first there, to stop while the core and the sink still answer its last calls.
 */
export async function startProcesses(
  shared: { REDIS_URL: string; DATABASE_URL: string },
  started: ChildServer[],
): Promise<WebhookProcesses> {
  const keys = await createTestKeys("bench-gateway");
  const first = await Promise.allSettled([
    startChildServer("sink", join(HERE, "provider-sink-server.ts"), shared),
    startChildServer("bare", join(HERE, "bare-server.ts"), shared),
    startChildServer("core", join(HERE, "core-server.ts"), {
      ...shared,
      BENCH_JWKS: JSON.stringify({ keys: [keys.publicJwk] }),
      BENCH_LINK_IDENTITIES: "1",
    }),
  ]);
  for (const s of first) if (s.status === "fulfilled") started.push(s.value);
  for (const s of first) if (s.status === "rejected") throw s.reason;
  const [sink, bare, core] = started as [ChildServer, ChildServer, ChildServer];
  const gateway = await startChildServer("gateway", join(HERE, "gateway-server.ts"), {
    ...shared,
    BENCH_CORE_PORT: String(core.port),
    BENCH_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
    BENCH_API_BASE_URLS: JSON.stringify(sink.announced.baseUrls),
  });
  started.unshift(gateway);
  const visitors = Array.from({ length: CUSTOMER_COUNT }, (_, i) => benchIdentity("web", i).userId);
  const mailbox = createMailboxSink(shared.REDIS_URL, String(gateway.announced.prefix), visitors);
  return { bare, gateway, core, sink, mailbox };
}

/** Where the gateway's replies on `channel` arrive. */
export function sinkOf(p: WebhookProcesses, channel: BenchChannelName): ReplySink {
  return channel === "web" ? p.mailbox : providerSink(p.sink, channel);
}

/**
 * The channels BENCH_CHANNELS names (e.g. "telegram,web"), every one when unset; a narrowed run
 * is a diagnosis and leaves bench/RESULTS.md alone.
 */
export function readChannels(): BenchChannelName[] {
  const raw = process.env.BENCH_CHANNELS;
  if (!raw) return [...BENCH_CHANNELS];
  const names = raw.split(",").map((n) => n.trim());
  const unknown = names.filter((n) => !(BENCH_CHANNELS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0)
    throw new Error(`BENCH_CHANNELS must list some of ${BENCH_CHANNELS.join(", ")}, got "${raw}"`);
  return names as BenchChannelName[];
}

/** Stops every child in order; true when one did not exit cleanly (its cleanup may be incomplete). */
export async function stopAll(started: readonly ChildServer[]): Promise<boolean> {
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

/** With BENCH_CPU_PROF=<dir>, prints where each child spent its time. */
export function printProfiles(started: readonly ChildServer[]): void {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return;
  for (const server of started) {
    const path = profileOf(dir, server.pid);
    if (path) console.log(`\n### ${server.name} (${path})\n\n${profileTables(summariseProfile(path))}`);
  }
}
