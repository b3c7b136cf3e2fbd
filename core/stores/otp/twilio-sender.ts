import { DomainError } from "../../domain/errors.js";
import type { OtpSender } from "../../domain/step-up-ports.js";

/** Settings of createTwilioSender (DESIGN.md, Running it: TWILIO_*). */
export interface TwilioSenderOptions {
  /** "https://api.twilio.com", or a local stand-in in tests. */
  readonly apiBaseUrl: string;
  /** The account SID, "AC" then 32 hex digits; the user name of basic auth. */
  readonly accountSid: string;
  /** The account's auth token; the password of basic auth. */
  readonly authToken: string;
  /** The sending number (E.164) or messaging service sender. */
  readonly from: string;
  /** Whole-request deadline, response included. Default 10 000 ms (DESIGN.md Gateways). */
  readonly timeoutMs?: number;
  /** Names Teller and its version, e.g. "Teller/0.1.0". */
  readonly userAgent?: string;
  readonly fetch?: typeof globalThis.fetch;
}

/**
 * Why Twilio refused a message: HTTP status and Twilio's numeric error code only — never the
 * recipient, the text (which holds the code) or the credentials (security.md LOG-1, MFA-1).
 */
export class TwilioSendError extends Error {
  readonly status: number;
  readonly twilioCode?: number;
  constructor(status: number, twilioCode?: number) {
    super(
      `Twilio refused the message: HTTP ${status}${twilioCode === undefined ? "" : `, code ${twilioCode}`}`,
    );
    this.name = "TwilioSendError";
    this.status = status;
    this.twilioCode = twilioCode;
  }
}

const ERROR_BODY_LIMIT = 16 * 1024;

/**
 * Creates the OtpSender that texts codes through Twilio's Messages API: POST
 * `/2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth `AccountSid:AuthToken`, a
 * form body `To`, `From`, `Body`. A 2xx is delivered; a 429, 5xx, timeout or network failure is
 * DomainError UNAVAILABLE (try again later); any other 4xx (bad credentials, bad number) is a
 * TwilioSendError that the rpc boundary logs and answers as INTERNAL.
 */
export function createTwilioSender(options: TwilioSenderOptions): OtpSender {
  const { accountSid, authToken, from, timeoutMs = 10_000 } = options;
  const problems = [
    !/^https?:\/\/[^/]/.test(options.apiBaseUrl) && "apiBaseUrl must be an http(s) URL",
    !/^AC[0-9a-fA-F]{32}$/.test(accountSid) && "accountSid must be AC followed by 32 hex digits",
    authToken.length === 0 && "authToken is required",
    from.length === 0 && "from is required",
    !(Number.isFinite(timeoutMs) && timeoutMs > 0) && "timeoutMs must be positive",
  ].filter((problem) => problem !== false);
  if (problems.length > 0) throw new Error(`Twilio sender: ${problems.join("; ")}`);
  const url = `${options.apiBaseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${accountSid}/Messages.json`;
  const headers = {
    authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`,
    "content-type": "application/x-www-form-urlencoded",
    accept: "application/json",
    "user-agent": options.userAgent ?? "Teller",
  };
  const fetchImpl = options.fetch ?? globalThis.fetch;
  return {
    async send(phoneNumber, text) {
      const body = new URLSearchParams({ To: phoneNumber, From: from, Body: text }).toString();
      let response: Response;
      try {
        // redirect "manual": a redirect is not Twilio; never follow it with our credentials.
        const signal = AbortSignal.timeout(timeoutMs);
        response = await fetchImpl(url, { method: "POST", headers, body, signal, redirect: "manual" });
      } catch (cause) {
        throw unavailable(cause);
      }
      if (response.ok) {
        await response.body?.cancel();
        return "sms";
      }
      const error = new TwilioSendError(response.status, await twilioCode(response));
      if (response.status === 429 || response.status >= 500) throw unavailable(error);
      throw error;
    },
  };
}

function unavailable(cause: unknown): DomainError {
  return new DomainError("UNAVAILABLE", "The code could not be sent just now; try again shortly.", { cause });
}

/** Twilio's error code from its JSON error body (`{"code": 21211, …}`), read within a bound. */
async function twilioCode(response: Response): Promise<number | undefined> {
  try {
    const text = (await response.text()).slice(0, ERROR_BODY_LIMIT);
    const code = (JSON.parse(text) as { code?: unknown }).code;
    return typeof code === "number" ? code : undefined;
  } catch {
    // A body that is not Twilio's JSON names no code; the status still classifies the failure.
    return undefined;
  }
}
