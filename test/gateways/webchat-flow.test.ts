import { createServer } from "node:http";
import { expect } from "chai";
import type Koa from "koa";
import { NOT_A_CUSTOMER } from "../../core/domain/dialog/replies.js";
import type { Gateways } from "../../gateways/main.js";
import { startVisitor, type WebchatVisitor } from "../../gateways/webchat/simulate.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { seedCustomer } from "../support/seed.js";

const CUSTOMER = "+447700900654";
const SECRET = "webchat-flow-secret-0123456789abcdef";

function listen(app: Koa) {
  const server = createServer(app.callback());
  return new Promise<{ baseUrl: string; server: typeof server }>((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({ baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server }),
    ),
  );
}

/** Sends one text and returns the texts of the replies it got, read from a fresh stream. */
async function say(visitor: WebchatVisitor, text: string, seen: { count: number }): Promise<string> {
  expect(await visitor.send({ text })).to.equal(202);
  return next(visitor, seen);
}

async function next(visitor: WebchatVisitor, seen: { count: number }): Promise<string> {
  const stream = await visitor.events(String(seen.count));
  const [reply] = await stream.waitFor(1);
  stream.close();
  seen.count = Number(reply?.id);
  return reply?.text ?? "";
}

describe("web chat → core → outbox → mailbox → event stream", () => {
  let rig: GatewayRig;
  let gw: Gateways;
  let baseUrl: string;
  let server: Awaited<ReturnType<typeof listen>>["server"];
  let customerId: string;
  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    ({ customerId } = await seedCustomer(rig.t, CUSTOMER, 42_00n, "Ada"));
    gw = rig.gateways({ env: { GATEWAYS: "web", WEBCHAT_SESSION_SECRET: SECRET } });
    ({ baseUrl, server } = await listen(gw.app));
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rig.close();
  });

  it("should tell a visitor who is not linked that it serves customers only", async () => {
    const visitor = await startVisitor(baseUrl);
    const stream = await visitor.events();
    expect(await visitor.send({ text: "what is my balance?" })).to.equal(202);
    const [reply] = await stream.waitFor(1);
    stream.close();
    expect(reply?.text).to.equal(NOT_A_CUSTOMER);
    expect(reply?.id).to.equal("1");
  });

  it("should keep replies while no stream is open, in order, and resume after Last-Event-ID", async () => {
    const visitor = await startVisitor(baseUrl);
    const repeated = crypto.randomUUID();
    for (const [text, id] of [
      ["hi", repeated],
      ["hi", repeated],
      ["cancel", undefined],
      ["hi", repeated],
      ["what is my balance?", undefined],
    ] as const)
      expect(await visitor.send({ text }, id)).to.equal(202);
    const first = await visitor.events();
    const replies = await first.waitFor(3);
    first.close();
    expect(replies.map((r) => r.text.slice(0, 24))).to.deep.equal([
      "Hello! How can I help yo",
      "There is nothing to canc",
      NOT_A_CUSTOMER.slice(0, 24),
    ]);
    expect(await visitor.send({ text: "hello" })).to.equal(202);
    const resumed = await visitor.events(replies[2]?.id);
    const [later] = await resumed.waitFor(1);
    resumed.close();
    expect(later?.text).to.equal("Hello! How can I help you today?");
    // Nothing was stored twice: the repeated id got one reply, so "hello" is the fourth entry.
    expect(later?.id).to.equal("4");
  });

  it("should link with the customer number and the texted code, then tell the balance", async () => {
    const visitor = await startVisitor(baseUrl);
    const seen = { count: 0 };
    expect(await say(visitor, "link my account", seen)).to.include("customer number");
    expect(await say(visitor, customerId, seen)).to.include("If that customer number is right");
    const [sms] = (await rig.t.core.devOutbox?.read(CUSTOMER)) ?? [];
    const code = /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1] as string;
    expect(await say(visitor, code, seen)).to.include("linked to your bank profile, Ada");
    expect(await visitor.send({ text: "balance" })).to.equal(202);
    const stream = await visitor.events(String(seen.count));
    const [balance] = await stream.waitFor(1);
    expect(balance?.text).to.equal("Your balance is 42.00 EUR.");
    expect(balance?.choices.map((c) => c.payload)).to.deep.equal(["BALANCE", "TRANSACTIONS", "PAYEES"]);
    expect(await visitor.send({ action: "BALANCE" })).to.equal(202);
    const [, tapped] = await stream.waitFor(2);
    stream.close();
    expect(tapped?.text).to.equal("Your balance is 42.00 EUR.");
    // Another visitor is a stranger: the link belongs to the first visitor's session only.
    const stranger = await startVisitor(baseUrl);
    expect(await say(stranger, "balance", { count: 0 })).to.equal(NOT_A_CUSTOMER);
  });

  it("should end open streams when the server stops listening, so shutdown is not held up", async () => {
    const visitor = await startVisitor(baseUrl);
    const stream = await visitor.events();
    const closed = new Promise((resolve) => server.close(resolve));
    await stream.ended;
    await closed;
  });
});
