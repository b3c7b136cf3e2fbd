import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import {
  answerJson,
  createFailureScript,
  createInbox,
  type FakeServer,
  isJsonRequest,
  readJson,
  startFakeServer,
} from "./fake-http.js";

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

/** A running fake Graph API; its baseUrl is the sender's apiBaseUrl. */
export interface FakeGraph extends FakeServer {
  readonly received: ReceivedMessage[];
  /** Queues failures, answered one per request before the request is checked further. */
  failNext(failures: readonly FakeGraphFailure[]): void;
  /** Resolves with `received` once it holds at least `n` messages; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
}

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
  const inbox = createInbox<ReceivedMessage>("fake graph");
  const failures = createFailureScript<FakeGraphFailure>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== "POST" || req.url !== `/${options.version}/${options.phoneNumberId}/messages`) {
      return answerError(res, 400, 100, "Unsupported post request");
    }
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      return answerError(res, 401, 190, "Invalid OAuth access token");
    }
    if (failures.play((failure) => answerFailure(res, failure))) return;
    if (!isJsonRequest(req)) return answerError(res, 400, 100, "Content-Type must be application/json");
    const parsed = messageBody.safeParse(await readJson(req));
    if (!parsed.success) return answerError(res, 400, 100, "Invalid parameter");
    const message = parsed.data;
    const choices = message.type === "text" ? [] : choicesOf(message.interactive);
    if (message.type === "interactive" && !unique(choices)) return answerError(res, 400, 100, "Duplicate");
    inbox.add({
      to: message.to,
      type: message.type,
      text: message.type === "text" ? message.text.body : message.interactive.body.text,
      interactiveType: message.type === "interactive" ? message.interactive.type : undefined,
      choices,
      userAgent: req.headers["user-agent"],
      authorization: req.headers.authorization,
      body: message,
    });
    const wamid = `wamid.FAKE${inbox.items.length}`;
    answerJson(res, 200, {
      messaging_product: "whatsapp",
      contacts: [{ input: message.to }],
      messages: [{ id: wamid }],
    });
  }

  const server = await startFakeServer(handle, (res) => answerError(res, 500, 1, "fake graph failure"));
  return {
    ...server,
    received: inbox.items,
    failNext: (list) => failures.push(...list),
    waitFor: inbox.waitFor,
  };
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
  answerJson(res, status, { error });
}
