import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The most a fake reads of one request body. Far above what any provider accepts, so the fakes'
 * own limits (in their schemas) are what a test meets; this only keeps a runaway sender bounded.
 */
const BODY_LIMIT = 1024 * 1024;

/** A fake provider API listening on a free loopback port. */
export interface FakeServer {
  /** "http://127.0.0.1:<port>", to pass as the sender's API base URL. */
  readonly baseUrl: string;
  /** Every request that reached the server, accepted or not. */
  requestCount(): number;
  /** Drops every open connection (requests a fake left hanging too), then stops listening. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on 127.0.0.1:0 that hands each request to `handle`. When `handle` throws
 * (a body over the limit, a bug in the fake) `onError` answers in the provider's own error
 * envelope, so a sender under test sees a provider failure rather than a dropped socket.
 */
export async function startFakeServer(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  onError: (res: ServerResponse) => void,
): Promise<FakeServer> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handle(req, res).catch(() => onError(res));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requestCount: () => requests,
    close: async () => {
      // A scripted hang never answers; closing its socket is what lets close() resolve.
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

/** Reads a request body as UTF-8; throws past 1 MiB. */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads the body as JSON; undefined when it does not parse, so it fails the fake's schema like any other. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Whether the request says its body is JSON, as the providers require before reading it. */
export function isJsonRequest(req: IncomingMessage): boolean {
  return String(req.headers["content-type"]).startsWith("application/json");
}

/**
 * Answers `body` as JSON with `status`, keeping headers set before (Retry-After). Does nothing once
 * an answer went out, so the error path may call it after a partial failure.
 */
export function answerJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

/** A scripted hang: the fake never answers, so the sender's own timeout ends the request. */
export interface Hang {
  readonly hang: true;
}

/** Scripted answers a fake plays, one per request, instead of its normal answer. */
export interface FailureScript<F extends object> {
  /** Queues answers behind those already scripted. */
  push(...answers: F[]): void;
  /**
   * Plays the next scripted answer, if any: a `Hang` leaves the request open (close() ends it),
   * anything else goes to `answer`. Returns whether one was played, i.e. the request is dealt with.
   */
  play(answer: (failure: Exclude<F, Hang>) => void): boolean;
}

/** Creates an empty script; each fake decides where in its checks to play it and how to answer. */
export function createFailureScript<F extends object>(): FailureScript<F> {
  const queue: F[] = [];
  return {
    push: (...answers) => {
      queue.push(...answers);
    },
    play: (answer) => {
      const next = queue.shift();
      if (next === undefined) return false;
      if (!("hang" in next)) answer(next as Exclude<F, Hang>);
      return true;
    },
  };
}

/** What a fake accepted, in arrival order, and a way for a test to wait for it. */
export interface Inbox<T> {
  /** The accepted items; the fakes expose this very array. */
  readonly items: T[];
  /** Records one item and wakes the waiters it satisfies. */
  add(item: T): void;
  /** Resolves with `items` once it holds at least `n`; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<T[]>;
}

/**
 * Creates an empty inbox. Waiting is event-driven (woken by `add`), not polled, and the timeout
 * names `label` and the counts, so a failing test says which fake came up short and by how much.
 */
export function createInbox<T>(label: string): Inbox<T> {
  const items: T[] = [];
  const waiters = new Set<() => void>();
  const waitFor = (n: number, timeoutMs = 5_000) =>
    new Promise<T[]>((resolve, reject) => {
      const check = () => {
        if (items.length < n) return;
        cleanup();
        resolve(items);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${label}: ${items.length} of ${n} messages after ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    items,
    add: (item) => {
      items.push(item);
      for (const wake of waiters) wake();
    },
    waitFor,
  };
}
