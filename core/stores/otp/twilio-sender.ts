import { createTwilioMessages, twilioErrorCode } from "../../../lib/twilio-messages.js";
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

/**
 * Creates the OtpSender that texts codes through Twilio's Messages API (lib/twilio-messages.ts).
 * A 2xx is delivered; a 429, 5xx, timeout or network failure is DomainError UNAVAILABLE (try again
 * later); any other 4xx (bad credentials, bad number) is a TwilioSendError that the rpc boundary
 * logs and answers as INTERNAL.
 */
export function createTwilioSender(options: TwilioSenderOptions): OtpSender {
  const { from } = options;
  const messages = createTwilioMessages({ ...options, userAgent: options.userAgent ?? "Teller" }, [
    from.length === 0 && "from is required",
  ]);
  return {
    async send(phoneNumber, text) {
      let response: Response;
      try {
        response = await messages.post({ to: phoneNumber, from, body: text });
      } catch (cause) {
        throw unavailable(cause);
      }
      if (response.ok) {
        await response.body?.cancel();
        return "sms";
      }
      const error = new TwilioSendError(response.status, await twilioErrorCode(response));
      if (response.status === 429 || response.status >= 500) throw unavailable(error);
      throw error;
    },
  };
}

function unavailable(cause: unknown): DomainError {
  return new DomainError("UNAVAILABLE", "The code could not be sent just now; try again shortly.", { cause });
}
