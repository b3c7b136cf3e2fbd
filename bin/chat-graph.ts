import { createServer, type IncomingHttpHeaders, type Server } from "node:http";

/** A choice under a reply: what a tap carries back (button id, payload, callback_data) and its label. */
export interface DeliveredChoice {
  readonly id: string;
  readonly title: string;
  /** WhatsApp only: a reply button or a list row, whose taps come back in different shapes. */
  readonly kind?: "button" | "row";
}

/** A message the gateway delivered to the provider stand-in, as the customer's phone would show it. */
export interface DeliveredReply {
  readonly to: string;
  readonly text: string;
  /** The buttons or quick replies under it; none on SMS, whose menus are part of the text. */
  readonly choices: readonly DeliveredChoice[];
}

/** One call the gateway made to the provider's API. */
export interface ProviderCall {
  readonly method: string;
  /** Path and query, as requested. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** How the provider answers a call, and the message it delivered, if the call sent one. */
export interface ProviderAnswer {
  readonly status: number;
  readonly json: unknown;
  readonly delivered?: DeliveredReply;
}

/** A provider's send API as `teller chat` plays it: a pure function of the call. */
export type ProviderApi = (call: ProviderCall) => ProviderAnswer;

/** Options of startProviderStandIn. */
export interface ProviderStandInOptions {
  readonly port: number;
  readonly api: ProviderApi;
  readonly onReply: (reply: DeliveredReply) => void;
}

/**
 * A local stand-in for a provider's send API (the Graph API, Telegram's Bot API, Twilio's
 * Messages API), for `teller chat`: the gateway's outbox posts there because every development
 * *_API_BASE_URL points at 127.0.0.1:3999. `api` checks each call as the real API would (path,
 * credentials, body) and answers in the provider's shape, so the gateway's own send code is what
 * runs; each delivered message is handed to `onReply`.
 */
export function startProviderStandIn(options: ProviderStandInOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const call = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      const answer = options.api(call);
      if (answer.delivered) options.onReply(answer.delivered);
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(answer.json));
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve(server));
  });
}

/** Parses a JSON body; undefined when it is not a JSON object, which every API refuses. */
export function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
