/**
 * GET /chat/app.js: the page's only script, as a string compiled into the build. Plain browser
 * JavaScript, no framework and no build step. What it promises:
 * - every text it shows is set with textContent (replies are plain text, never HTML; a test reads
 *   this source for HTML sinks);
 * - each message gets a UUID once and keeps it through retries, so the core answers it once;
 * - messages go one after another, in the order typed;
 * - replies come from GET /chat/events, read with fetch so the token travels in the Authorization
 *   header (EventSource cannot set headers, and a token in a URL ends up in logs and history);
 *   after a drop it reconnects with Last-Event-ID (backing off up to 30 s while refused) and skips
 *   any reply key it already showed;
 * - the session token lives in memory only; it is renewed when used after 5 minutes, and a new
 *   conversation starts (the visitor is told) once it has expired.
 */
export const CHAT_PAGE_SCRIPT = String.raw`"use strict";
(() => {
  const RENEW_AFTER_MS = 5 * 60 * 1000;
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const statusLine = document.getElementById("status");
  const shown = new Set();
  let session = null;
  let refreshing = null;
  let lastEventId = "";
  let stream = null;
  let outgoing = Promise.resolve();

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }

  function show(who, text, choices) {
    if (who === "teller") for (const old of log.querySelectorAll(".choices")) old.remove();
    const item = document.createElement("li");
    item.className = who;
    const bubble = document.createElement("p");
    bubble.textContent = text;
    item.append(bubble);
    if (choices && choices.length > 0) {
      const row = document.createElement("div");
      row.className = "choices";
      for (const choice of choices) {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = choice.title;
        button.addEventListener("click", () => enqueue({ action: choice.payload }, choice.title));
        row.append(button);
      }
      item.append(row);
    }
    log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  async function startSession(renewing) {
    const headers = renewing ? { authorization: "Bearer " + session.token } : {};
    const res = await fetch("/chat/session", { method: "POST", headers });
    if (res.status !== 201) throw new Error("session " + res.status);
    const body = await res.json();
    if (!renewing) {
      if (stream) stream.abort();
      lastEventId = "";
    }
    session = { token: body.token, expiresAt: Date.parse(body.expiresAt), issuedAt: Date.now() };
  }

  async function refresh() {
    if (session && Date.now() < session.expiresAt - 10000) {
      // A failed renewal leaves the current token, still valid, in place.
      if (Date.now() - session.issuedAt > RENEW_AFTER_MS) await startSession(true).catch(() => {});
      return session;
    }
    const ended = session !== null;
    await startSession(false);
    if (ended) show("notice", "Your session ended, so this is a new conversation. Say \u201Clink my account\u201D to link it again.");
    return session;
  }

  function currentSession() {
    refreshing = refreshing || refresh().finally(() => { refreshing = null; });
    return refreshing;
  }

  async function deliver(body) {
    for (let attempt = 0; attempt < 6; attempt++) {
      let status = 0;
      try {
        const current = await currentSession();
        const headers = { authorization: "Bearer " + current.token, "content-type": "application/json" };
        status = (await fetch("/chat/messages", { method: "POST", headers, body })).status;
        if (status === 401 && session === current) current.expiresAt = 0;
      } catch (error) {
        status = 0;
      }
      if (status === 202) return;
      if (status >= 400 && status < 500 && status !== 401 && status !== 429) {
        statusLine.textContent = "That message could not be sent.";
        return;
      }
      await sleep(Math.min(8000, 500 * 2 ** attempt));
    }
    statusLine.textContent = "Teller cannot be reached right now. Please try again in a moment.";
  }

  function enqueue(content, echo) {
    show("visitor", echo);
    statusLine.textContent = "";
    const body = JSON.stringify(Object.assign({ id: uuid() }, content));
    outgoing = outgoing.then(() => deliver(body));
  }

  function dispatch(block) {
    let id = "";
    let type = "message";
    let data = "";
    for (const line of block.split("\n")) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") type = value;
      else if (field === "data") data += value;
    }
    if (id) lastEventId = id;
    if (type !== "reply" || !data) return;
    const reply = JSON.parse(data);
    if (shown.has(reply.key)) return;
    shown.add(reply.key);
    show("teller", reply.text, reply.choices);
  }

  async function consume(body) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  async function listen() {
    let delay = 1000;
    for (;;) {
      let opened = false;
      const started = Date.now();
      try {
        const current = await currentSession();
        stream = new AbortController();
        const headers = { authorization: "Bearer " + current.token, accept: "text/event-stream" };
        if (lastEventId) headers["last-event-id"] = lastEventId;
        const res = await fetch("/chat/events", { headers, cache: "no-store", signal: stream.signal });
        if (res.status === 401 && session === current) current.expiresAt = 0;
        if (res.ok && res.body) {
          opened = true;
          document.body.dataset.stream = "open";
          await consume(res.body);
        }
      } catch (error) {
        // A dropped connection or an aborted stream: reconnect below.
      }
      document.body.dataset.stream = "closed";
      // A stream that ran its course reconnects at once; refusals and quick drops back off.
      delay = opened && Date.now() - started > 5000 ? 250 : Math.min(30000, Math.max(1000, delay * 2));
      await sleep(delay);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    enqueue({ text }, text);
  });
  show("notice", "Ask me about your balance or recent payments. Say \u201Clink my account\u201D to connect this chat to your bank profile.");
  listen();
})();
`;
