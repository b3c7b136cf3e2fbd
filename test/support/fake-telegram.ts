import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import {
  answerJson,
  createFailureScript,
  createInbox,
  type Hang,
  isJsonRequest,
  readJson,
  startFakeServer,
} from "./fake-http.js";

/** One sendMessage the fake accepted, in arrival order. */
export interface TelegramSent {
  readonly chatId: number | string;
  readonly text: string;
  /** Inline keyboard buttons, row by row flattened, as { id: callback_data, title: text }. */
  readonly choices: readonly { id: string; title: string }[];
  /** Rows of the keyboard, to check the layout. */
  readonly rows: number;
  readonly userAgent: string | undefined;
  /** The parsed request body, as sent (to check what must be absent, like parse_mode). */
  readonly body: Record<string, unknown>;
}

/** A running fake Telegram Bot API. */
export interface FakeTelegram {
  /** "http://127.0.0.1:<port>", to pass as TELEGRAM_API_BASE_URL. */
  readonly baseUrl: string;
  readonly sent: TelegramSent[];
  /** callback_query_id of every answerCallbackQuery, in order. */
  readonly callbackAnswers: string[];
  /** Parameters of every accepted setWebhook call. */
  readonly webhooks: Record<string, unknown>[];
  /** sendMessage requests that reached the server with the right token, accepted or not. */
  sendAttempts(): number;
  /** Answers the next `count` sendMessage calls with `status` (429 carries retry_after seconds). */
  failNext(status: number, count: number, retryAfterSeconds?: number): void;
  /** Never answers the next sendMessage (to exercise the sender's timeout). */
  hangNext(): void;
  /** Resolves with `sent` once it holds at least `n` messages; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<TelegramSent[]>;
  close(): Promise<void>;
}

const bytes = (s: string) => Buffer.byteLength(s, "utf8");
const button = z.object({
  text: z.string().min(1),
  callback_data: z
    .string()
    .refine((d) => bytes(d) >= 1 && bytes(d) <= 64, "callback_data must be 1-64 bytes"),
});
// channels.md §3.4: text 1-4096 characters; Telegram refuses a text that is empty once trimmed.
const sendMessage = z.object({
  chat_id: z.union([z.number().int().safe(), z.string().regex(/^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,32})$/)]),
  text: z
    .string()
    .max(4096)
    .refine((t) => t.trim().length > 0, "message text is empty"),
  parse_mode: z.enum(["HTML", "Markdown", "MarkdownV2"]).optional(),
  reply_markup: z.object({ inline_keyboard: z.array(z.array(button).min(1)).min(1).max(100) }).optional(),
});
const answerCallbackQuery = z.object({
  callback_query_id: z.string().min(1),
  text: z.string().max(200).optional(),
});
// channels.md §3.1.
const setWebhook = z.object({
  url: z.string().regex(/^https:\/\/[^/]/, "An HTTPS URL must be provided for webhook"),
  secret_token: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/),
  allowed_updates: z.array(z.string()).optional(),
  drop_pending_updates: z.boolean().optional(),
  max_connections: z.number().int().min(1).max(100).optional(),
});

/**
 * Starts a stand-in for the Bot API on a free port. It checks what Telegram checks — POST
 * `/bot<token>/<method>` (401 for another token, 404 for an unknown method), a JSON body, and the
 * parameters of sendMessage (text 1–4096, callback_data 1–64 bytes), answerCallbackQuery and
 * setWebhook (400 `Bad Request: …`) — answers in Telegram's `{ ok, error_code, description,
 * parameters }` envelope, records what it accepted and plays scripted sendMessage failures.
 */
export async function startFakeTelegram(options: { token: string }): Promise<FakeTelegram> {
  const inbox = createInbox<TelegramSent>("fake telegram");
  const callbackAnswers: string[] = [];
  const webhooks: Record<string, unknown>[] = [];
  const failures = createFailureScript<{ status: number; retryAfter: number } | Hang>();
  let attempts = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? "");
    if (req.method !== "POST" || match === null) return fail(res, 404, "Not Found");
    if (match[1] !== options.token) return fail(res, 401, "Unauthorized");
    const method = match[2];
    if (!isJsonRequest(req)) return fail(res, 400, "Bad Request: expected a JSON body");
    const json = await readJson(req);
    if (method === "sendMessage") {
      attempts++;
      if (failures.play((f) => fail(res, f.status, "scripted failure", f.retryAfter))) return;
      const parsed = sendMessage.safeParse(json);
      if (!parsed.success) return fail(res, 400, `Bad Request: ${parsed.error.issues[0]?.message}`);
      const keyboard = parsed.data.reply_markup?.inline_keyboard ?? [];
      inbox.add({
        chatId: parsed.data.chat_id,
        text: parsed.data.text,
        choices: keyboard.flat().map((b) => ({ id: b.callback_data, title: b.text })),
        rows: keyboard.length,
        userAgent: req.headers["user-agent"],
        body: json as Record<string, unknown>,
      });
      return ok(res, {
        message_id: inbox.items.length,
        date: Math.floor(Date.now() / 1000),
        text: parsed.data.text,
      });
    }
    if (method === "answerCallbackQuery") {
      const parsed = answerCallbackQuery.safeParse(json);
      if (!parsed.success) return fail(res, 400, "Bad Request: invalid callback_query_id");
      callbackAnswers.push(parsed.data.callback_query_id);
      return ok(res, true);
    }
    if (method === "setWebhook") {
      const parsed = setWebhook.safeParse(json);
      if (!parsed.success)
        return fail(res, 400, `Bad Request: bad webhook: ${parsed.error.issues[0]?.message}`);
      webhooks.push(json as Record<string, unknown>);
      return ok(res, true, "Webhook was set");
    }
    return fail(res, 404, "Not Found: method not found");
  }

  const server = await startFakeServer(handle, (res) => fail(res, 500, "Internal Server Error"));
  return {
    baseUrl: server.baseUrl,
    sent: inbox.items,
    callbackAnswers,
    webhooks,
    sendAttempts: () => attempts,
    failNext: (status, count, retryAfter = 1) => {
      for (let i = 0; i < count; i++) failures.push({ status, retryAfter });
    },
    hangNext: () => failures.push({ hang: true }),
    waitFor: inbox.waitFor,
    close: server.close,
  };
}

function ok(res: ServerResponse, result: unknown, description?: string): void {
  answerJson(res, 200, { ok: true, result, ...(description ? { description } : {}) });
}

/** Telegram's error envelope; 429 says how long to wait in `parameters.retry_after`. */
function fail(res: ServerResponse, status: number, description: string, retryAfter?: number): void {
  const body: Record<string, unknown> = { ok: false, error_code: status, description };
  if (status === 429) {
    body.description = `Too Many Requests: retry after ${retryAfter ?? 1}`;
    body.parameters = { retry_after: retryAfter ?? 1 };
  }
  if (status === 403) body.description = "Forbidden: bot was blocked by the user";
  answerJson(res, status, body);
}
