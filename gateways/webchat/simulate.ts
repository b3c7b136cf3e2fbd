import { decodeJwt } from "jose";
import type { OutboundChoice } from "../outbox/outbox.js";

/**
 * The browser's side of the web chat without a browser: what app.js does, over fetch, for tests
 * and tools. A visitor gets a session, posts messages with ids of its choosing and reads replies
 * from the event stream, resuming after the last event id like the page does.
 */

/** One reply as the event stream carries it. */
export interface WebchatReply {
  /** The SSE event id: the position in the visitor's mailbox. */
  readonly id: string;
  readonly key: string;
  readonly text: string;
  readonly choices: readonly OutboundChoice[];
}

/** An open event stream and the replies read from it so far. */
export interface WebchatStream {
  readonly replies: WebchatReply[];
  /** Resolves with the replies once there are at least `count`; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<WebchatReply[]>;
  /** Resolves when the server ended the stream. */
  readonly ended: Promise<void>;
  close(): void;
}

/** A visitor with a session token. */
export interface WebchatVisitor {
  readonly token: string;
  readonly visitorId: string;
  /** Posts one message ({text} or {action}); `id` defaults to a new UUID. Resolves with the status. */
  send(content: { text: string } | { action: string }, id?: string): Promise<number>;
  /** Opens GET /chat/events, resuming after `lastEventId` when given. */
  events(lastEventId?: string): Promise<WebchatStream>;
}

/** Starts a visitor on the gateway at `baseUrl` (e.g. "http://127.0.0.1:3000"). */
export async function startVisitor(baseUrl: string, fetchImpl = globalThis.fetch): Promise<WebchatVisitor> {
  const res = await fetchImpl(`${baseUrl}/chat/session`, { method: "POST" });
  if (res.status !== 201) throw new Error(`POST /chat/session answered ${res.status}`);
  const { token } = (await res.json()) as { token: string };
  const authorization = `Bearer ${token}`;
  return {
    token,
    visitorId: String(decodeJwt(token).sub),
    async send(content, id = crypto.randomUUID()) {
      const body = JSON.stringify({ id, ...content });
      const headers = { authorization, "content-type": "application/json" };
      const answer = await fetchImpl(`${baseUrl}/chat/messages`, { method: "POST", headers, body });
      await answer.body?.cancel();
      return answer.status;
    },
    async events(lastEventId) {
      const headers: Record<string, string> = { authorization, accept: "text/event-stream" };
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      const controller = new AbortController();
      const answer = await fetchImpl(`${baseUrl}/chat/events`, { headers, signal: controller.signal });
      if (answer.status !== 200 || !answer.body)
        throw new Error(`GET /chat/events answered ${answer.status}`);
      return readStream(answer.body, controller);
    },
  };
}

function readStream(body: ReadableStream<Uint8Array>, controller: AbortController): WebchatStream {
  const replies: WebchatReply[] = [];
  let notify = () => {};
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const reply = parseEvent(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (reply) replies.push(reply);
        }
        notify();
      }
    } catch {
      // Closed by us or dropped by the server: either way the stream has ended, as for the page.
    }
    notify();
  })();
  return {
    replies,
    ended,
    close: () => controller.abort(),
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (replies.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${replies.length} of ${count} replies within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 100));
          notify = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return replies.slice(0, count);
    },
  };
}

/** One SSE event block → a reply, or undefined for comments and other event types. */
export function parseEvent(block: string): WebchatReply | undefined {
  const fields = new Map<string, string>();
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon);
    fields.set(name, (fields.get(name) ?? "") + line.slice(colon + 1).replace(/^ /, ""));
  }
  if (fields.get("event") !== "reply") return undefined;
  const data = JSON.parse(fields.get("data") ?? "{}") as Omit<WebchatReply, "id">;
  return { id: fields.get("id") ?? "", key: data.key, text: data.text, choices: data.choices };
}
