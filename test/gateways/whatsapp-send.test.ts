import { expect } from "chai";
import type { OutboundChoice, OutboundReply } from "../../gateways/outbox/outbox.js";
import { createWhatsAppSender, type WhatsAppSenderOptions } from "../../gateways/whatsapp/send.js";
import { type FakeGraph, startFakeGraph } from "../support/fake-graph.js";

const TOKEN = "EAAG-test-access-token";
const PHONE_NUMBER_ID = "106540352242922";
const VERSION = "v21.0";

function reply(text: string, choices: readonly OutboundChoice[] = []): OutboundReply {
  return {
    channel: "whatsapp",
    recipient: "+16505551234",
    messageId: "wamid.IN1",
    sequence: 1,
    index: 0,
    text,
    choices,
  };
}

function choices(n: number): OutboundChoice[] {
  return Array.from({ length: n }, (_, i) => ({
    title: `Account number ${i + 1} (current)`,
    payload: `acct:${i + 1}`,
  }));
}

describe("WhatsApp sender", () => {
  let graph: FakeGraph;
  const sender = (overrides: Partial<WhatsAppSenderOptions> = {}) =>
    createWhatsAppSender({
      apiBaseUrl: graph.baseUrl,
      apiVersion: VERSION,
      phoneNumberId: PHONE_NUMBER_ID,
      accessToken: TOKEN,
      userAgent: "Teller/0.1.0",
      ...overrides,
    });

  beforeEach(async () => {
    graph = await startFakeGraph({ token: TOKEN, phoneNumberId: PHONE_NUMBER_ID, version: VERSION });
  });
  afterEach(() => graph.close());

  it("should send a text reply the fake Graph accepts", async () => {
    expect(await sender().send(reply("Your balance is £1,234.56."))).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message).to.include({ to: "+16505551234", type: "text", text: "Your balance is £1,234.56." });
    expect(message?.body).to.have.nested.property("text.preview_url", false);
  });

  it("should send the Bearer token and a User-Agent naming Teller", async () => {
    await sender().send(reply("hi"));
    const [message] = await graph.waitFor(1);
    expect(message?.authorization).to.equal(`Bearer ${TOKEN}`);
    expect(message?.userAgent).to.equal("Teller/0.1.0");
  });

  it("should send up to three choices as reply buttons with titles cut to 20 and unique", async () => {
    const same = [
      { title: "Transfer money to savings", payload: "t:1" },
      { title: "Transfer money to a friend", payload: "t:2" },
      { title: "Help", payload: "help" },
    ];
    expect(await sender().send(reply("What next?", same))).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message).to.include({ type: "interactive", interactiveType: "button", text: "What next?" });
    expect(message?.choices.map((c) => c.id)).to.deep.equal(["t:1", "t:2", "help"]);
    const titles = message?.choices.map((c) => c.title) ?? [];
    expect(new Set(titles).size).to.equal(3);
    for (const title of titles) expect(title.length).to.be.at.most(20);
  });

  it("should send more than three choices as a list of at most ten rows", async () => {
    expect(await sender().send(reply("Which account?", choices(12)))).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message).to.include({ type: "interactive", interactiveType: "list" });
    expect(message?.choices).to.have.length(10);
    expect(message?.choices[0]).to.deep.equal({ id: "acct:1", title: "Account number 1 (curre…" });
  });

  it("should offer few choices as a list when the text is too long for buttons", async () => {
    expect(await sender().send(reply("y".repeat(2000), choices(2)))).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message).to.include({ type: "interactive", interactiveType: "list" });
    expect(message?.choices.map((c) => c.id)).to.deep.equal(["acct:1", "acct:2"]);
  });

  it("should fall back to plain text when a payload is too long for any interactive message", async () => {
    const outcome = await sender().send(reply("Pick one", [{ title: "Go", payload: "p".repeat(300) }]));
    expect(outcome).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message).to.include({ type: "text", text: "Pick one" });
  });

  it("should cut a text over 4096 characters on a line boundary with an ellipsis", async () => {
    const line = `${"x".repeat(99)}\n`;
    const long = line.repeat(50);
    expect(await sender().send(reply(long))).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message?.text.length).to.be.at.most(4096);
    expect(message?.text).to.equal(`${line.repeat(40).trimEnd()}…`);
  });

  it("should never split an emoji when cutting a text without line breaks", async () => {
    expect(await sender().send(reply("😀".repeat(3000)))).to.deep.equal({ kind: "sent" });
    const [message] = await graph.waitFor(1);
    expect(message?.text.length).to.be.at.most(4096);
    expect(message?.text).to.match(/^(😀)+…$/u);
  });

  it("should retry on a 500 and report sent once the API recovers", async () => {
    graph.failNext([{ status: 500 }]);
    const send = sender();
    const first = await send.send(reply("hi"));
    expect(first).to.deep.equal({ kind: "retry", reason: "graph 500 2" });
    expect(await send.send(reply("hi"))).to.deep.equal({ kind: "sent" });
    expect(graph.received).to.have.length(1);
  });

  it("should retry on a 429 after the Retry-After seconds", async () => {
    graph.failNext([{ status: 429, retryAfter: 7 }]);
    expect(await sender().send(reply("hi"))).to.deep.equal({
      kind: "retry",
      reason: "graph 429 130429",
      afterMs: 7000,
    });
  });

  it("should read an HTTP-date Retry-After against the clock", async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    graph.failNext([{ status: 503, retryAfter: new Date(now + 30_000).toUTCString() }]);
    const outcome = await sender({ clock: { now: () => now } }).send(reply("hi"));
    expect(outcome).to.deep.equal({ kind: "retry", reason: "graph 503 2", afterMs: 30_000 });
  });

  it("should give up on a 400 with code 100 (invalid parameter)", async () => {
    graph.failNext([{ status: 400, code: 100 }]);
    expect(await sender().send(reply("hi"))).to.deep.equal({ kind: "fatal", reason: "graph 400 100" });
  });

  it("should retry on a 400 with a throttling code such as 130429", async () => {
    graph.failNext([{ status: 400, code: 130429 }]);
    expect(await sender().send(reply("hi"))).to.deep.equal({ kind: "retry", reason: "graph 400 130429" });
  });

  it("should retry when the API does not answer within the timeout", async () => {
    graph.failNext([{ hang: true }]);
    expect(await sender({ timeoutMs: 100 }).send(reply("hi"))).to.deep.equal({
      kind: "retry",
      reason: "timeout",
    });
  });

  it("should retry when the API cannot be reached", async () => {
    const baseUrl = graph.baseUrl;
    await graph.close();
    const outcome = await sender({ apiBaseUrl: baseUrl }).send(reply("hi"));
    expect(outcome).to.deep.equal({ kind: "retry", reason: "network ECONNREFUSED" });
    graph = await startFakeGraph({ token: TOKEN, phoneNumberId: PHONE_NUMBER_ID, version: VERSION });
  });

  it("should give up on a wrong token (401) without the token in the reason", async () => {
    const outcome = await sender({ accessToken: "EAAG-wrong" }).send(reply("secret text"));
    expect(outcome).to.deep.equal({ kind: "fatal", reason: "graph 401 190" });
    expect(graph.received).to.have.length(0);
  });

  it("should never put the token, recipient or text in a reason", async () => {
    graph.failNext([{ status: 400, code: 131047 }, { status: 502 }]);
    const send = sender();
    for (const outcome of [await send.send(reply("secret text")), await send.send(reply("secret text"))]) {
      const reason = "reason" in outcome ? outcome.reason : "";
      for (const secret of [TOKEN, "secret text", "6505551234"]) expect(reason).to.not.include(secret);
    }
  });

  it("should refuse a recipient that is not E.164 without calling the API", async () => {
    const outcome = await sender().send({ ...reply("hi"), recipient: "16505551234" });
    expect(outcome).to.deep.equal({ kind: "fatal", reason: "recipient not E.164" });
    expect(graph.requestCount()).to.equal(0);
  });
});
