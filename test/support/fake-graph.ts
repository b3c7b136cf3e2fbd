import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { z } from "zod";

/** What the fake needs to know to check requests as the Graph API would. */
export interface FakeGraphOptions {
  readonly token: string;
  readonly phoneNumberId: string;
  readonly version: string;
}

/** One message the fake accepted, in arrival order. */
export interface ReceivedMessage {
  readonly to: string;
  readonly type: "text" | "interactive";
  /** text.body, or interactive.body.text. */
  readonly text: string;
  /** "button" or "list" for interactive messages. */
  readonly interactiveType?: "button" | "list";
  /** Buttons or list rows as { id, title }. */
  readonly choices: readonly { id: string; title: string }[];
  readonly userAgent: string | undefined;
  readonly authorization: string | undefined;
  /** The parsed request body, as sent. */
  readonly body: unknown;
}

/**
 * A scripted answer for the next request that passes the path and token checks: an HTTP status
 * with a Graph error envelope (`code`, default by status) and an optional Retry-After (seconds or
 * an HTTP-date), or `hang`, which never answers (to exercise the sender's timeout).
 */
export type FakeGraphFailure =
  | { status: number; code?: number; retryAfter?: number | string }
  | { hang: true };

/** A running fake Graph API. */
export interface FakeGraph {
  /** "http://127.0.0.1:<port>", to pass as the sender's apiBaseUrl. */
  readonly baseUrl: string;
  readonly received: ReceivedMessage[];
  /** Every request that reached the server, accepted or not. */
  requestCount(): number;
  /** Queues failures, answered one per request before the request is checked further. */
  failNext(failures: readonly FakeGraphFailure[]): void;
  /** Resolves with `received` once it holds at least `n` messages; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

const BODY_LIMIT = 1024 * 1024;
const title = (max: number) => z.string().min(1).max(max);
const id = (max: number) => z.string().min(1).max(max);
const base = {
  messaging_product: z.literal("whatsapp"),
  recipient_type: z.enum(["individual", "group"]).optional(),
  to: z.string().regex(/^\+[0-9]{8,15}$/),
};
// The limits of channels.md §1.6, counted in UTF-16 code units.
const textMessage = z.object({
  ...base,
  type: z.literal("text"),
  text: z.object({ body: z.string().min(1).max(4096), preview_url: z.boolean().optional() }),
});
const buttonInteractive = z.object({
  type: z.literal("button"),
  body: z.object({ text: z.string().min(1).max(1024) }),
  action: z.object({
    buttons: z
      .array(z.object({ type: z.literal("reply"), reply: z.object({ id: id(256), title: title(20) }) }))
      .min(1)
      .max(3),
  }),
});
const row = z.object({ id: id(200), title: title(24), description: z.string().max(72).optional() });
const listInteractive = z.object({
  type: z.literal("list"),
  body: z.object({ text: z.string().min(1).max(4096) }),
  action: z.object({
    button: title(20),
    sections: z
      .array(z.object({ title: title(24).optional(), rows: z.array(row).min(1) }))
      .min(1)
      .max(10),
  }),
});
const interactiveMessage = z.object({
  ...base,
  type: z.literal("interactive"),
  interactive: z.discriminatedUnion("type", [buttonInteractive, listInteractive]),
});
const messageBody = z.discriminatedUnion("type", [textMessage, interactiveMessage]);

/**
 * Starts a stand-in for the Graph API messages endpoint on a free port. It checks what the real
 * API checks — POST, `/<version>/<phoneNumberId>/messages`, the Bearer token (401, code 190),
 * JSON and the message limits (400, code 100) — so a sender passing against it is not merely
 * passing against itself; it records accepted messages and plays scripted failures.
 */
export async function startFakeGraph(options: FakeGraphOptions): Promise<FakeGraph> {
  const received: ReceivedMessage[] = [];
  const failures: FakeGraphFailure[] = [];
  const waiters = new Set<() => void>();
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    handle(req, res).catch(() => answerError(res, 500, 1, "fake graph failure"));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || req.url !== `/${options.version}/${options.phoneNumberId}/messages`) {
      return answerError(res, 400, 100, "Unsupported post request");
    }
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return answerError(res, 401, 190, "Invalid OAuth access token");
    }
    const failure = failures.shift();
    if (failure !== undefined && "hang" in failure) return; // Never answered; close() ends it.
    if (failure !== undefined) return answerFailure(res, failure);
    if (!String(req.headers["content-type"]).startsWith("application/json")) {
      return answerError(res, 400, 100, "Content-Type must be application/json");
    }
    const parsed = messageBody.safeParse(parseJson(await readBody(req)));
    if (!parsed.success) return answerError(res, 400, 100, "Invalid parameter");
    const message = parsed.data;
    const choices = message.type === "text" ? [] : choicesOf(message.interactive);
    if (message.type === "interactive" && !unique(choices)) return answerError(res, 400, 100, "Duplicate");
    received.push({
      to: message.to,
      type: message.type,
      text: message.type === "text" ? message.text.body : message.interactive.body.text,
      interactiveType: message.type === "interactive" ? message.interactive.type : undefined,
      choices,
      userAgent: req.headers["user-agent"],
      authorization: req.headers.authorization,
      body: message,
    });
    for (const wake of waiters) wake();
    const wamid = `wamid.FAKE${received.length}`;
    answer(res, 200, {
      messaging_product: "whatsapp",
      contacts: [{ input: message.to }],
      messages: [{ id: wamid }],
    });
  }

  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    received,
    requestCount: () => requests,
    failNext: (list) => {
      failures.push(...list);
    },
    waitFor: (n, timeoutMs = 5_000) => waitFor(received, waiters, n, timeoutMs),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

function waitFor(
  received: ReceivedMessage[],
  waiters: Set<() => void>,
  n: number,
  timeoutMs: number,
): Promise<ReceivedMessage[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (received.length < n) return;
      cleanup();
      resolve(received);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fake graph: ${received.length} of ${n} messages after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
}

function choicesOf(
  interactive: z.infer<typeof interactiveMessage>["interactive"],
): { id: string; title: string }[] {
  if (interactive.type === "button") return interactive.action.buttons.map((b) => b.reply);
  return interactive.action.sections.flatMap((s) => s.rows.map((r) => ({ id: r.id, title: r.title })));
}

/** Button titles and ids must be unique; a list holds at most 10 rows over all sections. */
function unique(choices: readonly { id: string; title: string }[]): boolean {
  const ids = new Set(choices.map((c) => c.id));
  const titles = new Set(choices.map((c) => c.title));
  return choices.length <= 10 && ids.size === choices.length && titles.size === choices.length;
}

function answerFailure(
  res: ServerResponse,
  failure: { status: number; code?: number; retryAfter?: number | string },
) {
  if (failure.retryAfter !== undefined) res.setHeader("retry-after", String(failure.retryAfter));
  const code = failure.code ?? (failure.status === 429 ? 130429 : failure.status >= 500 ? 2 : 100);
  answerError(res, failure.status, code, "scripted failure");
}

function answerError(res: ServerResponse, status: number, code: number, message: string): void {
  const error = { message: `(#${code}) ${message}`, type: "OAuthException", code, fbtrace_id: "FAKE" };
  answer(res, status, { error });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error("body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
