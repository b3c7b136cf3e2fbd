import { createHmac } from "node:crypto";
import { expect } from "chai";
import { INSTAGRAM, MESSENGER, type MetaChannel } from "../../gateways/messenger/meta-channel.js";
import { createMetaSender, type MetaSenderOptions } from "../../gateways/messenger/send.js";
import type { OutboundChoice, OutboundReply } from "../../gateways/outbox/outbox.js";
import { createManualClock } from "../../lib/clock.js";
import { type FakeSendApi, type FakeSendFailure, startFakeSendApi } from "../support/fake-messenger.js";

const TOKEN = "EAAG-page-access-token";
const APP_SECRET = "meta-app-secret-0123456789";
const VERSION = "v21.0";
const PSID = "1254459154682919";

function reply(text: string, choices: readonly OutboundChoice[] = [], recipient = PSID): OutboundReply {
  return { channel: "facebook", recipient, messageId: "m_IN1", sequence: 1, index: 0, text, choices };
}

for (const channel of [MESSENGER, INSTAGRAM]) {
  describe(`Meta sender (${channel.name})`, () => {
    let api: FakeSendApi;
    const sender = (overrides: Partial<MetaSenderOptions> = {}) =>
      createMetaSender({
        channel,
        apiBaseUrl: api.baseUrl,
        apiVersion: VERSION,
        pageAccessToken: TOKEN,
        appSecret: APP_SECRET,
        userAgent: "Teller/0.1.0",
        ...overrides,
      });

    beforeEach(async () => {
      api = await startFakeSendApi({
        token: TOKEN,
        version: VERSION,
        appSecret: APP_SECRET,
        textLimit: channel.textLimit,
      });
    });
    afterEach(() => api.close());

    it("should send a RESPONSE to the page-scoped id with the Bearer token, the proof and a User-Agent", async () => {
      expect(await sender().send(reply("Your balance is £1,234.56."))).to.deep.equal({ kind: "sent" });
      const [message] = await api.waitFor(1);
      expect(message).to.include({ to: PSID, messagingType: "RESPONSE", text: "Your balance is £1,234.56." });
      expect(message?.authorization).to.equal(`Bearer ${TOKEN}`);
      expect(message?.userAgent).to.equal("Teller/0.1.0");
      expect(message?.proof).to.equal(true);
      expect(message?.body).not.to.have.nested.property("message.quick_replies");
    });

    it("should be refused by the API with another app's proof, and never retry that", async () => {
      const outcome = await sender({ appSecret: "another-app-secret" }).send(reply("hi"));
      expect(outcome).to.deep.equal({ kind: "fatal", reason: "graph 400 100" });
      expect(api.received).to.have.length(0);
    });

    it("should send choices as text quick replies, at most 13, titles cut to 20 and unique", async () => {
      const choices = Array.from({ length: 15 }, (_, i) => ({
        title: i < 2 ? "Transfer money to savings" : `Account ${i + 1}`,
        payload: `acct:${i + 1}`,
      }));
      expect(await sender().send(reply("Which account?", choices))).to.deep.equal({ kind: "sent" });
      const [message] = await api.waitFor(1);
      expect(message?.choices).to.have.length(13);
      expect(message?.choices.map((c) => c.id)).to.deep.equal(choices.slice(0, 13).map((c) => c.payload));
      const titles = message?.choices.map((c) => c.title) ?? [];
      expect(new Set(titles).size).to.equal(13);
      for (const title of titles) expect(title.length).to.be.at.most(20);
      expect(titles[0]).to.equal("Transfer money to…");
      expect(message?.body).to.have.nested.property("message.quick_replies[0].content_type", "text");
    });

    it("should leave out a choice whose payload the API would refuse, and keep the rest", async () => {
      const choices = [
        { title: "Too long", payload: "x".repeat(1001) },
        { title: "Cancel", payload: "CANCEL" },
      ];
      expect(await sender().send(reply("Sure?", choices))).to.deep.equal({ kind: "sent" });
      const [message] = await api.waitFor(1);
      expect(message?.choices).to.deep.equal([{ id: "CANCEL", title: "Cancel" }]);
    });

    it("should cut a text over the channel's limit so the API still takes it", async () => {
      const text = `${"Payments: ".repeat(100)}${"é".repeat(2000)}`;
      expect(await sender().send(reply(text))).to.deep.equal({ kind: "sent" });
      const [message] = await api.waitFor(1);
      expect(message?.text.endsWith("…")).to.equal(true);
      expect(withinLimit(message?.text ?? "", channel)).to.equal(true);
    });

    it("should refuse an empty reply or a recipient that is not a page-scoped id without calling", async () => {
      expect(await sender().send(reply("  "))).to.deep.equal({ kind: "fatal", reason: "empty reply" });
      expect((await sender().send(reply("hi", [], "+447700900123"))).kind).to.equal("fatal");
      expect(api.requestCount()).to.equal(0);
    });

    const outcomes: [FakeSendFailure, string, "retry" | "fatal", number?][] = [
      [{ status: 500 }, "graph 500 2", "retry"],
      [{ status: 503, code: 1200 }, "graph 503 1200", "retry"],
      [{ status: 429, retryAfter: 7 }, "graph 429 613", "retry", 7_000],
      [{ status: 400, code: 613 }, "graph 400 613", "retry"],
      [{ status: 400, code: 4 }, "graph 400 4", "retry"],
      [{ status: 400, code: 32 }, "graph 400 32", "retry"],
      [{ status: 403, code: 17 }, "graph 403 17", "retry"],
      [{ status: 400, code: 9999, transient: true }, "graph 400 9999", "retry"],
      [{ status: 400, code: 100 }, "graph 400 100", "fatal"],
      [{ status: 400, code: 551 }, "graph 400 551", "fatal"],
      [{ status: 403, code: 10 }, "graph 403 10", "fatal"],
    ];
    for (const [failure, reason, kind, afterMs] of outcomes) {
      it(`should classify ${reason} as ${kind}`, async () => {
        api.failNext([failure]);
        const outcome = await sender().send(reply("hi"));
        expect(outcome).to.deep.equal(afterMs === undefined ? { kind, reason } : { kind, reason, afterMs });
      });
    }

    it("should treat a wrong token as permanent, and name no token in the reason", async () => {
      const outcome = await sender({ pageAccessToken: "EAAG-revoked" }).send(reply("hi"));
      expect(outcome).to.deep.equal({ kind: "fatal", reason: "graph 401 190" });
    });

    it("should read an HTTP-date Retry-After with the injected clock", async () => {
      const clock = createManualClock(Date.parse("2026-01-01T00:00:00Z"));
      api.failNext([{ status: 429, retryAfter: "Thu, 01 Jan 2026 00:00:30 GMT" }]);
      const outcome = await sender({ clock }).send(reply("hi"));
      expect(outcome).to.deep.equal({ kind: "retry", reason: "graph 429 613", afterMs: 30_000 });
    });

    it("should retry after a timeout or a refused connection", async () => {
      api.failNext([{ hang: true }]);
      expect(await sender({ timeoutMs: 200 }).send(reply("hi"))).to.deep.equal({
        kind: "retry",
        reason: "timeout",
      });
      const closed = api.baseUrl;
      await api.close();
      const outcome = await sender({ apiBaseUrl: closed }).send(reply("hi"));
      expect(outcome).to.deep.equal({ kind: "retry", reason: "network ECONNREFUSED" });
      api = await startFakeSendApi({ token: TOKEN, version: VERSION, textLimit: channel.textLimit });
    });

    it("should refuse bad options at startup", () => {
      expect(() => sender({ apiBaseUrl: "graph.facebook.com", pageAccessToken: "" })).to.throw(
        /apiBaseUrl must be an http\(s\) URL; pageAccessToken is required/,
      );
    });
  });
}

describe("fake Send API", () => {
  it("should accept the token as access_token and check appsecret_proof as Meta computes it", async () => {
    const api = await startFakeSendApi({
      token: TOKEN,
      version: VERSION,
      appSecret: APP_SECRET,
      textLimit: MESSENGER.textLimit,
    });
    try {
      const proof = createHmac("sha256", APP_SECRET).update(TOKEN).digest("hex");
      const body = JSON.stringify({
        recipient: { id: PSID },
        messaging_type: "RESPONSE",
        message: { text: "hi" },
      });
      const post = (query: string) =>
        fetch(`${api.baseUrl}/${VERSION}/me/messages?${query}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
        });
      expect((await post(`access_token=${TOKEN}&appsecret_proof=${proof}`)).status).to.equal(200);
      expect(
        (
          await post(
            `access_token=${TOKEN}&appsecret_proof=${`${proof[0] === "0" ? "1" : "0"}${proof.slice(1)}`}`,
          )
        ).status,
      ).to.equal(400);
      expect((await post("access_token=nope")).status).to.equal(401);
    } finally {
      await api.close();
    }
  });
});

function withinLimit(text: string, channel: MetaChannel): boolean {
  const size = channel.textLimit.unit === "utf8" ? Buffer.byteLength(text) : text.length;
  return size <= channel.textLimit.max;
}
