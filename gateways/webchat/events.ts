import { PassThrough } from "node:stream";
import type { Context } from "koa";
import type { Clock } from "../../lib/clock.js";
import type { Logger } from "../../lib/logger.js";
import type { Mailbox, MailboxEntry } from "./mailbox.js";
import type { WebchatSession } from "./session-token.js";

/** Settings of the event stream; the defaults suit browsers behind ordinary proxies. */
export interface EventStreamOptions {
  readonly mailbox: Mailbox;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Longest wait between two reads of the mailbox (replies stored by another process); default 1 s. */
  readonly pollMs?: number;
  /** A comment line after this long without a write keeps proxies from closing the stream; default 15 s. */
  readonly heartbeatMs?: number;
  /** Longest life of one stream, in ms, before the browser reconnects; default 5 minutes. */
  readonly maxStreamMs?: number;
}

/** Replies written per mailbox read. */
const READ_BATCH = 50;

/**
 * Answers GET /chat/events with a server-sent event stream (WHATWG HTML §9.2) of the visitor's
 * replies: every mailbox entry after `Last-Event-ID`, then new ones as they arrive. Each event is
 * `id: <n>`, `event: reply` and one `data:` line of JSON {key, text, choices}. The stream ends at
 * the token's expiry, after `maxStreamMs`, when the server stops listening (so a graceful shutdown
 * is not held up by open streams) or when the browser goes away; the page reconnects with the
 * last id it saw and loses nothing.
 */
export function openEventStream(ctx: Context, session: WebchatSession, options: EventStreamOptions): void {
  const stream = new PassThrough();
  const controller = new AbortController();
  ctx.status = 200;
  ctx.type = "text/event-stream";
  ctx.set("Cache-Control", "no-store");
  // nginx buffers proxied responses unless told not to; a buffered stream delivers nothing.
  ctx.set("X-Accel-Buffering", "no");
  // A stream's connection is not reused: once it ends the socket closes, so a server shutting
  // down is not kept waiting for a keep-alive timeout.
  ctx.set("Connection", "close");
  ctx.body = stream;
  ctx.req.socket.setNoDelay(true);
  ctx.res.once("close", () => controller.abort());
  const maxMs = options.maxStreamMs ?? 5 * 60_000;
  const deadline = Math.min(session.expiresAt, options.clock.now() + maxMs);
  const after = lastEventId(ctx.get("last-event-id"));
  pump(ctx, stream, { ...options, visitorId: session.visitorId, after, deadline }, controller.signal)
    .catch((err: unknown) =>
      options.logger.warn({ requestId: ctx.state.requestId, err }, "web chat stream ended by an error"),
    )
    .finally(() => stream.end());
}

interface PumpState extends EventStreamOptions {
  readonly visitorId: string;
  readonly after: number;
  readonly deadline: number;
}

async function pump(ctx: Context, stream: PassThrough, state: PumpState, signal: AbortSignal) {
  const { mailbox, clock, visitorId, deadline } = state;
  const pollMs = state.pollMs ?? 1000;
  const heartbeatMs = state.heartbeatMs ?? 15_000;
  let after = state.after;
  // A first line sends the headers now, so the page knows the stream is open.
  stream.write(": open\n\n");
  let lastWrite = clock.now();
  while (!signal.aborted) {
    const entries = await mailbox.read(visitorId, after, READ_BATCH);
    for (const entry of entries) {
      stream.write(formatEvent(entry));
      after = entry.id;
      lastWrite = clock.now();
    }
    if (entries.length === READ_BATCH) continue;
    const now = clock.now();
    if (now >= deadline || serverStopped(ctx)) return;
    if (now - lastWrite >= heartbeatMs) {
      stream.write(": ping\n\n");
      lastWrite = now;
    }
    await mailbox.wait(visitorId, Math.min(pollMs, deadline - now), signal);
  }
}

/** One SSE event; JSON.stringify escapes line breaks, so the data is one line. */
export function formatEvent(entry: MailboxEntry): string {
  const data = JSON.stringify({ key: entry.key, text: entry.text, choices: entry.choices });
  return `id: ${entry.id}\nevent: reply\ndata: ${data}\n\n`;
}

/** The mailbox position to resume after; anything but a plain count starts from the beginning. */
function lastEventId(header: string): number {
  return /^\d{1,15}$/.test(header) ? Number(header) : 0;
}

/**
 * True once the HTTP server was told to close. server.close() waits for open requests, and a
 * stream is one, so each stream notices and ends itself. `socket.server` is the net.Server that
 * accepted the connection (set by Node's net module for every accepted socket).
 */
function serverStopped(ctx: Context): boolean {
  const server = (ctx.req.socket as { server?: { listening?: boolean } }).server;
  return server?.listening === false;
}
