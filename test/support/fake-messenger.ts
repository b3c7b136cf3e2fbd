import { createHmac, timingSafeEqual } from "node:crypto";
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

/** What the fake needs to know to check requests as the Send API would. */
export interface FakeSendApiOptions {
  /** The Page access token it accepts, as a Bearer header or the `access_token` parameter. */
  readonly token: string;
  readonly version: string;
  /** The app secret: when given, an `appsecret_proof` parameter must be its HMAC of the token. */
  readonly appSecret?: string;
  /** The text limit of the channel: Messenger 2000 characters, Instagram 1000 UTF-8 bytes. */
  readonly textLimit: { readonly max: number; readonly unit: "utf16" | "utf8" };
}

/** One message the fake accepted, in arrival order. */
export interface SentMessage {
  /** recipient.id: the PSID or IGSID. */
  readonly to: string;
  readonly messagingType: string;
  readonly text: string;
  /** The quick replies as { id: payload, title }. */
  readonly choices: readonly { id: string; title: string }[];
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
  /** Whether an appsecret_proof came with the call (it was checked when it did). */
  readonly proof: boolean;
  /** The parsed request body, as sent. */
  readonly body: unknown;
}

/**
 * A scripted answer for the next request that passes the path and token checks: a status with a
 * Graph error envelope (`code`, default by status; `transient` sets is_transient) and an optional
 * Retry-After, or `hang`, which never answers (to exercise the sender's timeout).
 */
export type FakeSendFailure =
  | { status: number; code?: number; transient?: boolean; retryAfter?: number | string }
  | { hang: true };

/** A running fake Send API; its baseUrl is the sender's apiBaseUrl. */
export interface FakeSendApi extends FakeServer {
  readonly received: SentMessage[];
  /** Queues failures, answered one per request after the path and token checks. */
  failNext(failures: readonly FakeSendFailure[]): void;
  /** Resolves with `received` once it holds at least `n` messages; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<SentMessage[]>;
}

// The limits of channels.md §2.3.
const quickReply = z.object({
  content_type: z.literal("text"),
  title: z.string().min(1).max(20),
  payload: z.string().min(1).max(1000),
  image_url: z.string().optional(),
});
const sendBody = z.object({
  recipient: z.object({ id: z.string().regex(/^[0-9]{1,64}$/) }),
  messaging_type: z.enum(["RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY"]),
  message: z.object({
    text: z.string().min(1),
    quick_replies: z.array(quickReply).min(1).max(13).optional(),
  }),
});

/**
 * Starts a stand-in for the Send API (`POST /<version>/me/messages`) on a free port. It checks
 * what the real API checks — the path, the Page token (401, code 190), appsecret_proof when sent
 * (400, code 100), JSON, the recipient, messaging_type, the text limit and the quick-reply limits
 * (400, code 100) — so a sender passing against it is not merely passing against itself; it records
 * accepted messages and plays scripted failures.
 */
export async function startFakeSendApi(options: FakeSendApiOptions): Promise<FakeSendApi> {
  const inbox = createInbox<SentMessage>("fake send api");
  const failures = createFailureScript<FakeSendFailure>();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://fake");
    if (req.method !== "POST" || url.pathname !== `/${options.version}/me/messages`) {
      return answerError(res, 400, 100, "Unsupported post request");
    }
    const token = bearer(req.headers.authorization) ?? url.searchParams.get("access_token") ?? "";
    if (!sameText(token, options.token)) return answerError(res, 401, 190, "Invalid OAuth access token");
    const proof = url.searchParams.get("appsecret_proof");
    if (proof !== null && !proofMatches(proof, options))
      return answerError(res, 400, 100, "Invalid appsecret_proof");
    if (failures.play((failure) => answerFailure(res, failure))) return;
    if (!isJsonRequest(req)) return answerError(res, 400, 100, "Content-Type must be application/json");
    const parsed = sendBody.safeParse(await readJson(req));
    if (!parsed.success || !textFits(parsed.data.message.text, options.textLimit)) {
      return answerError(res, 400, 100, "Invalid parameter");
    }
    const { recipient, messaging_type, message } = parsed.data;
    inbox.add({
      to: recipient.id,
      messagingType: messaging_type,
      text: message.text,
      choices: (message.quick_replies ?? []).map((q) => ({ id: q.payload, title: q.title })),
      authorization: req.headers.authorization,
      userAgent: req.headers["user-agent"],
      proof: proof !== null,
      body: parsed.data,
    });
    answerJson(res, 200, { recipient_id: recipient.id, message_id: `m_FAKE${inbox.items.length}` });
  }

  const server = await startFakeServer(handle, (res) => answerError(res, 500, 2, "fake send api failure"));
  return {
    ...server,
    received: inbox.items,
    failNext: (list) => failures.push(...list),
    waitFor: inbox.waitFor,
  };
}

/** Messenger counts characters (we count UTF-16 units, never fewer); Instagram counts UTF-8 bytes. */
function textFits(text: string, limit: FakeSendApiOptions["textLimit"]): boolean {
  const size = limit.unit === "utf8" ? Buffer.byteLength(text, "utf8") : text.length;
  return size <= limit.max;
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined;
}

function proofMatches(proof: string, options: FakeSendApiOptions): boolean {
  if (options.appSecret === undefined) return false;
  return sameText(proof, createHmac("sha256", options.appSecret).update(options.token).digest("hex"));
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function answerFailure(
  res: ServerResponse,
  failure: { status: number; code?: number; transient?: boolean; retryAfter?: number | string },
) {
  if (failure.retryAfter !== undefined) res.setHeader("retry-after", String(failure.retryAfter));
  const code = failure.code ?? (failure.status === 429 ? 613 : failure.status >= 500 ? 2 : 100);
  answerError(res, failure.status, code, "scripted failure", failure.transient);
}

function answerError(res: ServerResponse, status: number, code: number, message: string, transient = false) {
  const error = {
    message: `(#${code}) ${message}`,
    type: "OAuthException",
    code,
    is_transient: transient,
    fbtrace_id: "FAKE",
  };
  answerJson(res, status, { error });
}
