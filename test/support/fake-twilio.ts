import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

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
export interface FakeTwilio {
  readonly baseUrl: string;
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
  /** Every request that reached the fake, accepted or not. */
  requestCount(): number;
  /** Resolves with `messages` once it holds at least `n`; rejects after `timeoutMs`. */
  waitFor(n: number, timeoutMs?: number): Promise<FakeTwilioMessage[]>;
  close(): Promise<void>;
}

/** The Messages API's Body limit (channels.md §4.6); Twilio refuses longer bodies with 21617. */
const BODY_LIMIT = 1600;
const ADDRESS = /^(whatsapp:)?\+[1-9][0-9]{7,14}$/;

/**
 * Starts a fake Twilio on port 0 that checks what the real API requires: POST to
 * `/2010-04-01/Accounts/<sid>/Messages.json`, HTTP basic auth `<sid>:<token>`, a form body with
 * To, From and Body, a Body of at most 1600 characters, a To that is E.164 (or whatsapp:+E.164,
 * then from a whatsapp: sender). It answers 201 with a message sid and records the message;
 * 401 (20003) on bad credentials, 404 on another path, 400 with Twilio's error code otherwise.
 */
export async function startFakeTwilio(accountSid: string, authToken: string): Promise<FakeTwilio> {
  const messages: FakeTwilioMessage[] = [];
  const deliveries: FakeTwilioDelivery[] = [];
  const scripted: { status: number; code?: number; retryAfter?: number }[] = [];
  const optedOut = new Set<string>();
  const waiters = new Set<() => void>();
  let failure: number | undefined;
  let requests = 0;
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
  const server: Server = createServer(async (req, res) => {
    requests++;
    const body = new URLSearchParams(await readBody(req));
    const answer = (status: number, json: object, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(json));
    };
    const refuse = (status: number, code: number, message: string) =>
      answer(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
    if (req.method !== "POST" || req.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
      return refuse(404, 20404, "not found");
    }
    if (req.headers.authorization !== expectedAuth) return refuse(401, 20003, "Authenticate");
    if (failure !== undefined) return answer(failure, { code: 20500, message: "failure", status: failure });
    const next = scripted.shift();
    if (next !== undefined) {
      const code = next.code ?? (next.status === 429 ? 20429 : next.status >= 500 ? 20500 : 21211);
      const headers: Record<string, string> =
        next.retryAfter === undefined ? {} : { "retry-after": String(next.retryAfter) };
      return answer(next.status, { code, message: "scripted failure", status: next.status }, headers);
    }
    const [to, from, text] = [body.get("To"), body.get("From"), body.get("Body")];
    if (
      !req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") ||
      !to ||
      !from ||
      !text
    ) {
      return refuse(400, 21602, "Message body is required");
    }
    if (!ADDRESS.test(to)) return refuse(400, 21211, "Invalid 'To' Phone Number");
    if (to.startsWith("whatsapp:") !== from.startsWith("whatsapp:"))
      return refuse(400, 63007, "Twilio could not find a Channel with the specified From address");
    if (text.length > BODY_LIMIT)
      return refuse(400, 21617, "The concatenated message body exceeds the 1600 character limit");
    if (optedOut.has(to)) return refuse(400, 21610, "Attempt to send to unsubscribed recipient");
    messages.push({ to, from, body: text });
    deliveries.push({
      to,
      from,
      body: text,
      authorization: req.headers.authorization,
      userAgent: req.headers["user-agent"],
    });
    for (const wake of waiters) wake();
    answer(201, {
      sid: `SM${"0".repeat(32 - String(messages.length).length)}${messages.length}`,
      status: "queued",
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    messages,
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
    requestCount: () => requests,
    waitFor: (n, timeoutMs = 5_000) => waitFor(messages, waiters, n, timeoutMs),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function waitFor(
  messages: FakeTwilioMessage[],
  waiters: Set<() => void>,
  n: number,
  timeoutMs: number,
): Promise<FakeTwilioMessage[]> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (messages.length < n) return;
      cleanup();
      resolve(messages);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`fake twilio: ${messages.length} of ${n} messages after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
