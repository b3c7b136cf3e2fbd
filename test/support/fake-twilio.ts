import type { IncomingMessage, ServerResponse } from "node:http";
import {
  answerJson,
  createFailureScript,
  createInbox,
  type FakeServer,
  readBody,
  startFakeServer,
} from "./fake-http.js";

/** One message the fake accepted. */
export interface FakeTwilioMessage {
  readonly to: string;
  readonly from: string;
  readonly body: string;
}

/** One accepted message with the request details a test may check. */
export interface FakeTwilioDelivery extends FakeTwilioMessage {
  readonly authorization: string | undefined;
  readonly userAgent: string | undefined;
}

/** A local stand-in for Twilio's Messages API, for TWILIO_API_BASE_URL in tests. */
export interface FakeTwilio extends FakeServer {
  readonly messages: FakeTwilioMessage[];
  /** The same messages, with their authorization and User-Agent headers. */
  readonly deliveries: FakeTwilioDelivery[];
  /** Makes the next answers use this status (and a Twilio-style JSON error) instead of 201. */
  failWith(status: number | undefined): void;
  /**
   * Answers the next `count` requests that pass the path and auth checks with `status` and a
   * Twilio error `code` (default by status: 429 → 20429, 5xx → 20500, else 21211); `retryAfter`
   * (seconds) adds a Retry-After header.
   */
  failNext(status: number, count?: number, options?: { code?: number; retryAfter?: number }): void;
  /** Makes `to` an opted-out recipient: sends to it answer 400 with code 21610, as after STOP. */
  optOut(to: string): void;
  /** Resolves with `messages` once it holds at least `n`; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<FakeTwilioMessage[]>;
}

/** The Messages API's Body limit (channels.md §4.6); Twilio refuses longer bodies with 21617. */
const TEXT_LIMIT = 1600;
const ADDRESS = /^(whatsapp:)?\+[1-9][0-9]{7,14}$/;

/**
 * Starts a fake Twilio on port 0 that checks what the real API requires: POST to
 * `/2010-04-01/Accounts/<sid>/Messages.json`, HTTP basic auth `<sid>:<token>`, a form body with
 * To, From and Body, a Body of at most 1600 characters, a To that is E.164 (or whatsapp:+E.164,
 * then from a whatsapp: sender). It answers 201 with a message sid and records the message;
 * 401 (20003) on bad credentials, 404 on another path, 400 with Twilio's error code otherwise.
 */
export async function startFakeTwilio(accountSid: string, authToken: string): Promise<FakeTwilio> {
  const inbox = createInbox<FakeTwilioMessage>("fake twilio");
  const deliveries: FakeTwilioDelivery[] = [];
  const scripted = createFailureScript<{ status: number; code?: number; retryAfter?: number }>();
  const optedOut = new Set<string>();
  let failure: number | undefined;
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = new URLSearchParams(await readBody(req));
    if (req.method !== "POST" || req.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
      return refuse(res, 404, 20404, "not found");
    }
    if (req.headers.authorization !== expectedAuth) return refuse(res, 401, 20003, "Authenticate");
    if (failure !== undefined)
      return answerJson(res, failure, { code: 20500, message: "failure", status: failure });
    if (scripted.play((next) => answerScripted(res, next))) return;
    const [to, from, text] = [body.get("To"), body.get("From"), body.get("Body")];
    if (
      !req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") ||
      !to ||
      !from ||
      !text
    ) {
      return refuse(res, 400, 21602, "Message body is required");
    }
    if (!ADDRESS.test(to)) return refuse(res, 400, 21211, "Invalid 'To' Phone Number");
    if (to.startsWith("whatsapp:") !== from.startsWith("whatsapp:"))
      return refuse(res, 400, 63007, "Twilio could not find a Channel with the specified From address");
    if (text.length > TEXT_LIMIT)
      return refuse(res, 400, 21617, "The concatenated message body exceeds the 1600 character limit");
    if (optedOut.has(to)) return refuse(res, 400, 21610, "Attempt to send to unsubscribed recipient");
    const { authorization, "user-agent": userAgent } = req.headers;
    deliveries.push({ to, from, body: text, authorization, userAgent });
    inbox.add({ to, from, body: text });
    const count = String(inbox.items.length);
    answerJson(res, 201, { sid: `SM${count.padStart(32, "0")}`, status: "queued" });
  }

  const server = await startFakeServer(handle, (res) => refuse(res, 500, 20500, "fake twilio failure"));
  return {
    ...server,
    messages: inbox.items,
    deliveries,
    failWith: (status) => {
      failure = status;
    },
    failNext: (status, count = 1, options = {}) => {
      for (let i = 0; i < count; i++) scripted.push({ status, ...options });
    },
    optOut: (to) => {
      optedOut.add(to);
    },
    waitFor: inbox.waitFor,
  };
}

function answerScripted(res: ServerResponse, next: { status: number; code?: number; retryAfter?: number }) {
  const code = next.code ?? (next.status === 429 ? 20429 : next.status >= 500 ? 20500 : 21211);
  if (next.retryAfter !== undefined) res.setHeader("retry-after", String(next.retryAfter));
  answerJson(res, next.status, { code, message: "scripted failure", status: next.status });
}

/** Twilio's error envelope, with the docs link its API puts in every error. */
function refuse(res: ServerResponse, status: number, code: number, message: string): void {
  answerJson(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}
