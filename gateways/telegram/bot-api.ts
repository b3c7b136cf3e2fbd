/**
 * A minimal client of the Telegram Bot API (channels.md §3.4): POST
 * `<base>/bot<token>/<method>` with a JSON body, answered by `{ ok, result }` or
 * `{ ok: false, error_code, description, parameters: { retry_after } }`. The token is part of the
 * URL, so the URL is kept inside this closure: no result, reason or error it produces names it.
 */
import { z } from "zod";
import { readLimitedText } from "../../lib/limited-body.js";

/** Settings of createBotApi. */
export interface BotApiOptions {
  /** "https://api.telegram.org", or a local stand-in. */
  readonly apiBaseUrl: string;
  readonly botToken: string;
  /** Whole-request deadline, response body included. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Names Teller and its version. */
  readonly userAgent: string;
  readonly fetch?: typeof globalThis.fetch;
}

/** What one Bot API call came to. */
export type BotApiResult =
  | { readonly ok: true; readonly result: unknown; readonly description?: string }
  | {
      readonly ok: false;
      /** The HTTP status, or 0 when no response arrived (timeout, network). */
      readonly status: number;
      /** Loggable: "telegram 429", "timeout", "network ECONNREFUSED"; never the URL or the token. */
      readonly reason: string;
      /** From `parameters.retry_after` (or Retry-After), in ms, when Telegram asked us to wait. */
      readonly retryAfterMs?: number;
      /** Telegram's own explanation ("Bad Request: chat not found"), for operators. */
      readonly description?: string;
    };

/** Calls one Bot API method. Never throws: failures are results. */
export interface BotApi {
  call(method: string, params: Readonly<Record<string, unknown>>): Promise<BotApiResult>;
}

const RESPONSE_LIMIT = 64 * 1024;
const envelope = z.object({
  ok: z.boolean(),
  result: z.unknown().optional(),
  description: z.string().max(1024).optional(),
  parameters: z.object({ retry_after: z.number().int().nonnegative().optional() }).optional(),
});

/** Creates the Bot API client; options are checked here, at startup, without echoing the token. */
export function createBotApi(options: BotApiOptions): BotApi {
  const { botToken, userAgent, timeoutMs = 10_000 } = options;
  const problems = [
    !/^https?:\/\/[^/]/.test(options.apiBaseUrl) && "apiBaseUrl must be an http(s) URL",
    !/^[0-9]{1,20}:[A-Za-z0-9_-]{1,128}$/.test(botToken) && "botToken must look like <bot id>:<token>",
    userAgent.length === 0 && "userAgent is required",
    !(Number.isFinite(timeoutMs) && timeoutMs > 0) && "timeoutMs must be positive",
  ].filter((problem) => problem !== false);
  if (problems.length > 0) throw new Error(`Telegram Bot API: ${problems.join("; ")}`);
  const base = `${options.apiBaseUrl.replace(/\/+$/, "")}/bot${botToken}`;
  const headers = { "content-type": "application/json", "user-agent": userAgent };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return {
    async call(method, params) {
      if (!/^[A-Za-z]{1,64}$/.test(method)) return { ok: false, status: 0, reason: "bad method name" };
      try {
        const signal = AbortSignal.timeout(timeoutMs);
        // redirect "manual": a redirect is not the Bot API; never follow it with the token in the URL.
        const response = await fetchImpl(`${base}/${method}`, {
          method: "POST",
          headers,
          body: JSON.stringify(params),
          signal,
          redirect: "manual",
        });
        return await readResult(response);
      } catch (error) {
        return { ok: false, status: 0, reason: transportReason(error) };
      }
    },
  };
}

/** A 2xx with `ok: true` is a result; anything else is a failure with what Telegram told us. */
async function readResult(response: Response): Promise<BotApiResult> {
  const { status } = response;
  const parsed = envelope.safeParse(parseJson(await readLimited(response)));
  const body = parsed.success ? parsed.data : undefined;
  if (status >= 200 && status < 300 && body?.ok === true) {
    return {
      ok: true,
      result: body.result,
      ...(body.description === undefined ? {} : { description: body.description }),
    };
  }
  const seconds = body?.parameters?.retry_after ?? retryAfterHeader(response.headers.get("retry-after"));
  return {
    ok: false,
    status,
    reason: `telegram ${status}`,
    ...(seconds === undefined ? {} : { retryAfterMs: seconds * 1000 }),
    ...(body?.description === undefined ? {} : { description: body.description }),
  };
}

/** The response body as text, at most 64 KiB of it; "" when longer or absent. */
function readLimited(response: Response): Promise<string> {
  return readLimitedText(response, RESPONSE_LIMIT);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // Not JSON (a proxy's HTML page): the status alone decides.
  }
}

/** Retry-After as delta-seconds only; Telegram's own signal is parameters.retry_after. */
function retryAfterHeader(header: string | null): number | undefined {
  return header !== null && /^[0-9]{1,9}$/.test(header.trim()) ? Number(header.trim()) : undefined;
}

/**
 * Names a failure without a response by its kind. Never the error's message: fetch's messages
 * can quote the URL, and the URL holds the bot token.
 */
function transportReason(error: unknown): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return "timeout";
  }
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? `network ${code}` : "network error";
}
