import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import {
  WEBCHAT_TOKEN_AUDIENCE,
  WEBCHAT_TOKEN_ISSUER,
  WEBCHAT_TOKEN_TYP,
} from "../../../gateways/webchat/session-token.js";
import { parseEvent } from "../../../gateways/webchat/simulate.js";
import type { ChannelHarness, InboundRequest, ProviderReply } from "./harness.js";

/** The session-token key the gateway is configured with (≥ 32 characters, as production asks). */
export const WEBCHAT_SESSION_SECRET = "test-webchat-session-secret_0123456789abcdef";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The web chat for the shared behaviour suite. The web has no provider: the "provider" here is
 * the visitor's browser, so this harness does what app.js does. Tokens are signed with
 * node:crypto's HMAC (not jose, which the gateway uses), an independent check of the token format;
 * each visitor holds an event stream open on the listening gateway and the replies are what those
 * streams carry, in the order they arrived. `failNext` cuts the next streams just as a reply
 * arrives (the web's send path that can fail is the visitor's connection, not an API): the
 * visitor reconnects with Last-Event-ID, as EventSource does, and must still see every reply once.
 */
export function createWebHarness(): ChannelHarness {
  let baseUrl: string | undefined;
  const visitors = new Map<string, Visitor>();
  const replies: ProviderReply[] = [];
  let dropsLeft = 0;
  let closed = false;
  const follow = async (visitor: Visitor) => {
    while (!closed && baseUrl !== undefined) {
      const headers: Record<string, string> = { authorization: `Bearer ${visitor.token}` };
      if (visitor.lastEventId) headers["last-event-id"] = visitor.lastEventId;
      visitor.controller = new AbortController();
      try {
        const res = await fetch(`${baseUrl}/chat/events`, { headers, signal: visitor.controller.signal });
        if (res.status !== 200 || !res.body) throw new Error(`GET /chat/events answered ${res.status}`);
        const decoder = new TextDecoder();
        let buffer = "";
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true });
          for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
            const event = parseEvent(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
            if (!event) continue;
            if (dropsLeft > 0) {
              dropsLeft--;
              visitor.controller.abort();
              break;
            }
            visitor.lastEventId = event.id;
            if (visitor.seen.has(event.key)) continue;
            visitor.seen.add(event.key);
            const choices = event.choices.map((c) => ({ id: c.payload, title: c.title }));
            replies.push({ to: visitor.id, text: event.text, choices });
          }
        }
      } catch (err) {
        if (closed) return;
        if (!visitor.controller.signal.aborted) visitor.error = err as Error;
      }
      // A dropped or ended stream is reopened after a short pause, like EventSource's retry.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const visitorOf = (from: string) => {
    const visitor = visitors.get(from);
    if (!visitor) throw new Error(`web harness: unknown visitor ${from}`);
    return visitor;
  };
  const post = (from: string, content: object, messageId?: string, token?: string): InboundRequest => ({
    method: "POST",
    path: "/chat/messages",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${token ?? visitorOf(from).token}`,
    },
    body: JSON.stringify({ id: uuidOf(messageId), ...content }),
  });
  return {
    name: "web",
    path: "/chat/messages",
    phoneIdentity: false,
    async start() {},
    async attach(gatewayBaseUrl) {
      baseUrl = gatewayBaseUrl;
      for (const visitor of visitors.values()) void follow(visitor);
    },
    async close() {
      closed = true;
      for (const visitor of visitors.values()) visitor.controller?.abort();
    },
    env: () => ({ GATEWAYS: "web", WEBCHAT_SESSION_SECRET }),
    newUser() {
      const id = `web_${randomBytes(16).toString("base64url")}`;
      const visitor: Visitor = { id, token: signToken(id, WEBCHAT_SESSION_SECRET), seen: new Set() };
      visitors.set(id, visitor);
      if (baseUrl !== undefined) void follow(visitor);
      return id;
    },
    text: (from, text, messageId) => post(from, { text }, messageId),
    tap: (from, payload, _title, messageId) => post(from, { action: payload }, messageId),
    unsigned(request) {
      const { authorization: _dropped, ...headers } = request.headers;
      return { ...request, headers };
    },
    forged(request) {
      const sub = /"sub":"([^"]+)"/.exec(tokenPayload(request.headers.authorization ?? ""))?.[1] ?? "";
      // Same length and alphabet as the real key: only its value is wrong.
      const wrongKey = WEBCHAT_SESSION_SECRET.replace(/.$/, (c) => (c === "x" ? "y" : "x"));
      return {
        ...request,
        headers: { ...request.headers, authorization: `Bearer ${signToken(sub, wrongKey)}` },
      };
    },
    malformed() {
      const visitor = visitorOf(this.newUser());
      return post(visitor.id, { text: 42, extra: true }, undefined, visitor.token);
    },
    get replies() {
      return [...replies];
    },
    async waitForReplies(count) {
      const deadline = Date.now() + 10_000;
      while (replies.length < count) {
        const failed = [...visitors.values()].find((v) => v.error);
        if (failed) throw failed.error;
        if (Date.now() > deadline) throw new Error(`${replies.length} of ${count} web replies within 10 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return replies.slice();
    },
    failNext(_status, count) {
      dropsLeft += count;
    },
  };
}

interface Visitor {
  readonly id: string;
  readonly token: string;
  /** Reply keys shown already: the page shows each once, even when a resumed stream repeats it. */
  readonly seen: Set<string>;
  lastEventId?: string;
  controller?: AbortController;
  error?: Error;
}

/** An HS256 session token as the gateway mints it, signed here without jose. */
function signToken(visitorId: string, key: string): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "HS256", typ: WEBCHAT_TOKEN_TYP })}.${part({
    auth_time: now,
    iss: WEBCHAT_TOKEN_ISSUER,
    aud: WEBCHAT_TOKEN_AUDIENCE,
    sub: visitorId,
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
  })}`;
  return `${input}.${createHmac("sha256", key).update(input).digest("base64url")}`;
}

function tokenPayload(authorization: string): string {
  const payload = authorization.replace(/^Bearer /, "").split(".")[1] ?? "";
  return Buffer.from(payload, "base64url").toString("utf8");
}

/** The page's message ids are UUIDs; any other test id maps to a stable one (version 4 layout). */
function uuidOf(messageId?: string): string {
  if (messageId === undefined) return randomUUID();
  if (UUID.test(messageId)) return messageId;
  const hex = createHash("sha256").update(messageId).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
