import { createServer } from "node:http";
import { expect } from "chai";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import type Koa from "koa";
import request from "supertest";
import { loadGatewayConfig } from "../../gateways/config.js";
import type { CoreAnswer, CoreConversation, CoreMessage } from "../../gateways/core-client-port.js";
import { createGateways, type Gateways } from "../../gateways/main.js";
import { CHAT_PAGE_SCRIPT } from "../../gateways/webchat/page-script.js";
import { CHAT_CSP } from "../../gateways/webchat/routes.js";
import { startVisitor } from "../../gateways/webchat/simulate.js";
import { systemClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import { createTestKeys } from "../support/core.js";

const SECRET = "webchat-test-secret-0123456789abcdef";
const ORIGIN = "https://bank.example";
const MARKUP = "<script>alert(1)</script><b>bold</b>";

/** A core that records what it was asked and answers with markup, failing the first `fail` calls. */
function fakeCore(fail = 0) {
  const calls: CoreMessage[] = [];
  let failures = fail;
  const core: CoreConversation = {
    async handleMessage(message): Promise<CoreAnswer> {
      if (failures-- > 0) throw new Error("connect ECONNREFUSED");
      calls.push(message);
      const text = message.text === undefined ? `tapped ${message.actionPayload}` : MARKUP;
      return {
        sessionId: "s1",
        duplicate: false,
        sequence: calls.length,
        replies: [{ text, choices: [{ title: "<i>Yes</i>", payload: "YES" }] }],
      };
    },
  };
  return { core, calls };
}

async function build(core: CoreConversation): Promise<Gateways> {
  const { privateJwk } = await createTestKeys();
  const config = loadGatewayConfig({
    GATEWAYS: "web",
    WEBCHAT_SESSION_SECRET: SECRET,
    JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
    CORS_ORIGINS: ORIGIN,
  });
  const logger = createLogger({ level: "silent" });
  return createGateways({ config, clock: systemClock, logger, core, worker: { pollIntervalMs: 10 } });
}

async function listen(app: Koa) {
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A token as an attacker or a bug would make it, signed independently of the gateway's code. */
function token(options: { secret?: string; expSeconds?: number; aud?: string; typ?: string } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ auth_time: now })
    .setProtectedHeader({ alg: "HS256", typ: options.typ ?? "teller-webchat+jwt" })
    .setIssuer("teller-gateway")
    .setAudience(options.aud ?? "teller-webchat")
    .setSubject("web_AAAAAAAAAAAAAAAAAAAAAA")
    .setJti("j1")
    .setIssuedAt(now - 60)
    .setExpirationTime(now + (options.expSeconds ?? 600))
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

const message = (text = "hello") => ({ id: crypto.randomUUID(), text });

describe("web chat API (/chat)", () => {
  let gw: Gateways;
  let fake: ReturnType<typeof fakeCore>;
  beforeEach(async () => {
    fake = fakeCore();
    gw = await build(fake.core);
  });
  afterEach(() => gw.close());

  it("should serve the page, its script and its style under the strict CSP, with no inline script", async () => {
    const page = await request(gw.app.callback()).get("/chat");
    expect(page.status).to.equal(200);
    expect(page.type).to.equal("text/html");
    expect(page.headers["content-security-policy"]).to.equal(CHAT_CSP);
    expect(page.headers["x-content-type-options"]).to.equal("nosniff");
    expect(page.text).to.include('<script src="/chat/app.js" defer></script>');
    expect(page.text).not.to.match(/<script(?![^>]*\ssrc=)|\sstyle=|\son\w+=/);
    const script = await request(gw.app.callback()).get("/chat/app.js");
    expect(script.type).to.equal("text/javascript");
    expect(script.text).to.equal(CHAT_PAGE_SCRIPT);
    expect(script.headers["content-security-policy"]).to.equal(CHAT_CSP);
    expect((await request(gw.app.callback()).get("/chat/app.css")).type).to.equal("text/css");
    expect((await request(gw.app.callback()).post("/chat")).status).to.equal(405);
  });

  it("should write every text into the page with textContent, never through an HTML sink", () => {
    expect(CHAT_PAGE_SCRIPT).to.include("bubble.textContent = text");
    expect(CHAT_PAGE_SCRIPT).to.include("button.textContent = choice.title");
    expect(CHAT_PAGE_SCRIPT).not.to.match(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
  });

  it("should issue a 30-minute HS256 token for a fresh visitor, and renew it for the same visitor", async () => {
    const app = gw.app.callback();
    const first = await request(app).post("/chat/session");
    const second = await request(app).post("/chat/session");
    expect(first.status).to.equal(201);
    expect(first.headers["cache-control"]).to.equal("no-store");
    const claims = decodeJwt(first.body.token);
    expect(decodeProtectedHeader(first.body.token)).to.deep.equal({
      alg: "HS256",
      typ: "teller-webchat+jwt",
    });
    expect(claims.sub).to.match(/^web_[A-Za-z0-9_-]{22}$/);
    expect((claims.exp as number) - (claims.iat as number)).to.equal(1800);
    expect(new Date(first.body.expiresAt).getTime()).to.equal((claims.exp as number) * 1000);
    expect(decodeJwt(second.body.token).sub).not.to.equal(claims.sub);
    const renewed = await request(app)
      .post("/chat/session")
      .set("authorization", `Bearer ${first.body.token}`);
    expect(renewed.status).to.equal(201);
    expect(decodeJwt(renewed.body.token)).to.include({ sub: claims.sub, auth_time: claims.auth_time });
    const forged = await request(app)
      .post("/chat/session")
      .set("authorization", `Bearer ${await token({ secret: "x".repeat(40) })}`);
    expect(forged.status).to.equal(401);
  });

  it("should refuse a missing, malformed, forged, expired or foreign token with 401 and never call the core", async () => {
    const app = gw.app.callback();
    const unsigned = `${Buffer.from('{"alg":"none","typ":"teller-webchat+jwt"}').toString("base64url")}.${Buffer.from(
      JSON.stringify(decodeJwt(await token())),
    ).toString("base64url")}.`;
    const cases: (string | undefined)[] = [
      undefined,
      "Bearer not-a-jwt",
      `Basic ${Buffer.from("a:b").toString("base64")}`,
      `Bearer ${await token({ secret: "another-secret-0123456789abcdef0123" })}`,
      `Bearer ${await token({ expSeconds: -60 })}`,
      `Bearer ${await token({ aud: "teller-core" })}`,
      `Bearer ${await token({ typ: "JWT" })}`,
      `Bearer ${unsigned}`,
    ];
    for (const [i, authorization] of cases.entries()) {
      const post = request(app).post("/chat/messages").set("content-type", "application/json");
      const events = request(app).get("/chat/events");
      if (authorization !== undefined) {
        post.set("authorization", authorization);
        events.set("authorization", authorization);
      }
      const posted = await post.send(JSON.stringify(message()));
      expect(posted.status, `case ${i}`).to.equal(401);
      expect(posted.headers["www-authenticate"], `case ${i}`).to.match(/^Bearer /);
      expect(posted.body).to.deep.equal({ error: "unauthorized" });
      expect((await events).status, `events case ${i}`).to.equal(401);
    }
    expect(fake.calls).to.have.length(0);
    const metrics = await gw.metrics.registry.metrics();
    expect(metrics).to.match(/teller_webhook_signature_failures_total\{channel="web"[^}]*\} 16/);
  });

  it("should refuse malformed messages with 400 and anything but JSON with 415, before the core", async () => {
    const { token: good } = (await request(gw.app.callback()).post("/chat/session")).body;
    const id = crypto.randomUUID();
    const bodies = [
      "not json",
      JSON.stringify({ text: "no id" }),
      JSON.stringify({ id: "1234", text: "id not a uuid" }),
      JSON.stringify({ id, text: "both", action: "BALANCE" }),
      JSON.stringify({ id }),
      JSON.stringify({ id, text: "   " }),
      JSON.stringify({ id, text: "x".repeat(4097) }),
      JSON.stringify({ id, action: "has spaces" }),
      JSON.stringify({ id, text: "hi", extra: 1 }),
      JSON.stringify([{ id, text: "hi" }]),
    ];
    for (const [i, body] of bodies.entries()) {
      const res = await request(gw.app.callback())
        .post("/chat/messages")
        .set("authorization", `Bearer ${good}`)
        .set("content-type", "application/json")
        .send(body);
      expect(res.status, `case ${i}`).to.equal(400);
    }
    const form = await request(gw.app.callback())
      .post("/chat/messages")
      .set("authorization", `Bearer ${good}`)
      .set("content-type", "text/plain")
      .send(JSON.stringify(message()));
    expect(form.status).to.equal(415);
    expect(fake.calls).to.have.length(0);
  });

  it("should pass markup through as text in the event data, and send taps as action payloads", async () => {
    const server = await listen(gw.app);
    try {
      const visitor = await startVisitor(server.baseUrl);
      expect(await visitor.send({ text: "hi" })).to.equal(202);
      expect(await visitor.send({ action: "YES" })).to.equal(202);
      const stream = await visitor.events();
      const replies = await stream.waitFor(2);
      stream.close();
      expect(replies.map((r) => r.text)).to.deep.equal([MARKUP, "tapped YES"]);
      expect(replies[0]?.choices).to.deep.equal([{ title: "<i>Yes</i>", payload: "YES" }]);
      expect(fake.calls.map((c) => [c.channel, c.channelUserId])).to.deep.equal([
        ["web", visitor.visitorId],
        ["web", visitor.visitorId],
      ]);
      expect(fake.calls[1]?.actionPayload).to.equal("YES");
    } finally {
      await server.close();
    }
  });

  it("should answer 503 when the core is unreachable, and answer the page's retry of that id once", async () => {
    await gw.close();
    fake = fakeCore(1);
    gw = await build(fake.core);
    const server = await listen(gw.app);
    try {
      const visitor = await startVisitor(server.baseUrl);
      const id = crypto.randomUUID();
      expect(await visitor.send({ text: "balance" }, id)).to.equal(503);
      expect(await visitor.send({ text: "balance" }, id)).to.equal(202);
      expect(await visitor.send({ text: "balance" }, id)).to.equal(202);
      expect(await visitor.send({ text: "next" })).to.equal(202);
      const stream = await visitor.events();
      await stream.waitFor(2);
      stream.close();
      // The fake core answers every call; the outbox stores one reply per (message id, index).
      expect(stream.replies.map((r) => r.key.split(":")[0])).to.deep.equal([id, fake.calls[2]?.messageId]);
    } finally {
      await server.close();
    }
  });

  it("should allow cross-origin calls from CORS_ORIGINS only", async () => {
    const preflight = (origin: string) =>
      request(gw.app.callback())
        .options("/chat/messages")
        .set("origin", origin)
        .set("access-control-request-method", "POST")
        .set("access-control-request-headers", "authorization, content-type");
    const allowed = await preflight(ORIGIN);
    expect(allowed.status).to.equal(204);
    expect(allowed.headers["access-control-allow-origin"]).to.equal(ORIGIN);
    expect(allowed.headers["access-control-allow-headers"]).to.match(/Authorization/);
    const other = await preflight("https://evil.example");
    expect(other.headers["access-control-allow-origin"]).to.equal(undefined);
    const session = await request(gw.app.callback())
      .post("/chat/session")
      .set("origin", "https://evil.example");
    expect(session.headers["access-control-allow-origin"]).to.equal(undefined);
  });
});
