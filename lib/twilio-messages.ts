import { readLimitedJson } from "./limited-body.js";

/**
 * Twilio's Messages API as both processes call it (channels.md §4.6): the core texts one-time codes
 * through it, the gateways send SMS and WhatsApp replies. One place builds the request — POST
 * `<base>/2010-04-01/Accounts/<sid>/Messages.json`, basic auth `sid:token`, a form `To`, `From`,
 * `Body` — so the credentials' handling, the timeout and the refusal to follow redirects cannot
 * drift apart. What a status means is left to each caller (a code that cannot be sent fails the
 * customer's request; a reply that cannot be sent is retried by the outbox).
 */

/** The account and transport settings of Twilio's Messages API. */
export interface TwilioAccount {
  /** "https://api.twilio.com", or a local stand-in in tests and `teller chat`. */
  readonly apiBaseUrl: string;
  /** "AC" then 32 hex digits: the user name of basic auth. */
  readonly accountSid: string;
  /** The account's auth token: the password of basic auth. */
  readonly authToken: string;
  /** Names Teller and its version, e.g. "Teller/0.1.0". */
  readonly userAgent: string;
  /** Whole-request deadline, response included; default 10 000 ms (DESIGN.md, Gateways). */
  readonly timeoutMs?: number;
  readonly fetch?: typeof globalThis.fetch;
}

/** Posts messages with one account. */
export interface TwilioMessages {
  /**
   * Sends one message and resolves with Twilio's response, whatever its status; rejects on a
   * timeout or a network failure. A redirect is returned, never followed: it is not Twilio, and
   * following it would hand our credentials to whoever sent it.
   */
  post(message: { readonly to: string; readonly from: string; readonly body: string }): Promise<Response>;
}

/** The largest error body read for Twilio's error code. */
const ERROR_BODY_LIMIT = 16 * 1024;

/**
 * Checks `account` and binds it. At startup a bad setting throws, naming the setting only, with
 * the caller's own `problems` (its senders' numbers) in the same message, so all are fixed at once.
 */
export function createTwilioMessages(
  account: TwilioAccount,
  problems: readonly (string | false)[] = [],
): TwilioMessages {
  const { accountSid, authToken, timeoutMs = 10_000 } = account;
  const found = [
    !/^https?:\/\/[^/]/.test(account.apiBaseUrl) && "apiBaseUrl must be an http(s) URL",
    !/^AC[0-9a-fA-F]{32}$/.test(accountSid) && "accountSid must be AC followed by 32 hex digits",
    authToken.length === 0 && "authToken is required",
    account.userAgent.length === 0 && "userAgent is required",
    !(Number.isFinite(timeoutMs) && timeoutMs > 0) && "timeoutMs must be positive",
    ...problems,
  ].filter((problem) => problem !== false);
  if (found.length > 0) throw new Error(`Twilio sender: ${found.join("; ")}`);
  const url = `${account.apiBaseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${accountSid}/Messages.json`;
  const headers = {
    authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`,
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
    "user-agent": account.userAgent,
  };
  const fetchImpl = account.fetch ?? globalThis.fetch;
  return {
    post({ to, from, body }) {
      const form = new URLSearchParams({ To: to, From: from, Body: body }).toString();
      const signal = AbortSignal.timeout(timeoutMs);
      return fetchImpl(url, { method: "POST", headers, body: form, signal, redirect: "manual" });
    },
  };
}

/** Twilio's numeric `code` from its JSON error body (`{"code": 21211, …}`), reading at most 16 KiB. */
export async function twilioErrorCode(response: Response): Promise<number | undefined> {
  const code = ((await readLimitedJson(response, ERROR_BODY_LIMIT)) as { code?: unknown } | undefined)?.code;
  return typeof code === "number" && Number.isInteger(code) ? code : undefined;
}
