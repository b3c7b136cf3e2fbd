import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import type { Cluster } from "ioredis";
import type Koa from "koa";
import request from "supertest";
import { NOT_A_CUSTOMER } from "../../core/domain/dialog/replies.js";
import { type ServingCore, serveCore } from "../../core/serve.js";
import { loadGatewayConfig } from "../../gateways/config.js";
import { createGateways, type Gateways } from "../../gateways/main.js";
import { createRedisOutbox } from "../../gateways/outbox/redis-outbox.js";
import { startVisitor } from "../../gateways/webchat/simulate.js";
import { createManualClock, systemClock } from "../../lib/clock.js";
import { createLogger } from "../../lib/logger.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { type FakeGraph, startFakeGraph } from "../support/fake-graph.js";
import { ACCESS_TOKEN, APP_SECRET, PHONE_NUMBER_ID, VERIFY_TOKEN, whatsAppText } from "../support/gateway.js";
import { keysByMaster, startRedisCluster, type TestRedisCluster } from "../support/redis-cluster.js";
import { seedCustomer } from "../support/seed.js";
import { label, reply } from "./outbox-support.js";

const CUSTOMER = "+447700900431";
const WEBCHAT_SECRET = "cluster-webchat-secret-0123456789abcdef";

describe("the gateways on a Redis Cluster (REDIS_CLUSTER=true)", function () {
  // Three redis-server processes start once for the file; each test has a key prefix of its own.
  this.timeout(30_000);
  let cluster: TestRedisCluster;
  let t: TestCore;
  let serving: ServingCore;
  let graph: FakeGraph;
  let opened: Gateways[] = [];
  let server: Server | undefined;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster?.stop());
  beforeEach(async () => {
    t = await startTestCore({ cluster, env: { RATE_LIMIT_PER_SUBJECT: "100/1m" } });
    const silent = createLogger({ level: "silent" });
    serving = await serveCore(t.core, {
      host: "127.0.0.1",
      corePort: 0,
      connectPort: 0,
      maxMessageBytes: 1 << 20,
      logger: silent,
    });
    graph = await startFakeGraph({ token: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID, version: "v21.0" });
  });
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
    for (const gateways of opened) await gateways.close();
    opened = [];
    await graph.close();
    await serving.close();
    await t.close();
  });

  /**
   * Gateways built by the composition root from config alone (it opens its own Cluster client),
   * once that client is ready: before, the limiter would count in its in-memory insurance.
   */
  const open = async (env: Record<string, string> = {}) => {
    const config = loadGatewayConfig({
      GATEWAYS: "whatsapp,web",
      CORE_URL: `127.0.0.1:${serving.corePort}`,
      JWT_PRIVATE_JWK: JSON.stringify(t.keys.privateJwk),
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      WHATSAPP_API_BASE_URL: graph.baseUrl,
      WEBCHAT_SESSION_SECRET: WEBCHAT_SECRET,
      HTTP_TIMEOUT: "5s",
      REDIS_URL: cluster.url,
      REDIS_CLUSTER: "true",
      ...env,
    });
    expect(config.redisCluster).to.equal(true);
    const gateways = createGateways({
      config,
      clock: systemClock,
      logger: createLogger({ level: "silent" }),
      keyPrefix: t.prefix,
      worker: { baseDelayMs: 20, maxDelayMs: 200, pollIntervalMs: 10, leaseMs: 2_000 },
    });
    opened.push(gateways);
    for (let i = 0; i < 500 && !(await gateways.ready()).redis; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect((await gateways.ready()).redis, "the Cluster client is ready").to.equal(true);
    return gateways;
  };
  const post = (app: Koa, hook: { body: string; signature: string }) =>
    request(app.callback())
      .post("/webhooks/whatsapp")
      .set("content-type", "application/json")
      .set("x-hub-signature-256", hook.signature)
      .send(hook.body);
  const masters = () => keysByMaster(t.redisHandle?.redis as Cluster, t.prefix as string);
  const drained = async (gateways: Gateways) => {
    for (let i = 0; i < 500 && (await gateways.outbox.depth()) > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    return gateways.outbox.depth();
  };

  it("should answer a WhatsApp message once through core, outbox and Graph API, retrying a failed send", async () => {
    await seedCustomer(t, CUSTOMER, 42_00n, "Ada");
    graph.failNext([{ status: 500 }]);
    const gateways = await open();
    const hook = whatsAppText(CUSTOMER, "what is my balance?");
    expect((await post(gateways.app, hook)).status).to.equal(200);
    expect((await post(gateways.app, hook)).status, "Meta's redelivery").to.equal(200);
    const [sent] = await graph.waitFor(1, 15_000);
    expect([sent?.to, sent?.text]).to.deep.equal([CUSTOMER, "Your balance is 42.00 EUR."]);
    expect(await drained(gateways)).to.equal(0);
    expect(graph.received).to.have.length(1);
    expect(graph.requestCount(), "one refused send, one accepted").to.equal(2);
    expect(await gateways.outbox.deadLetters(10)).to.deep.equal([]);
    // The outbox is one hash tag, so one master; the conversation's keys live elsewhere too.
    const spread = [...(await masters())].filter(([, keys]) => keys.length > 0);
    expect(spread.filter(([, keys]) => keys.some((key) => key.includes(":{outbox}:")))).to.have.length(1);
    expect(spread.length, "masters holding keys").to.be.greaterThan(1);
  });

  it("should keep one reply in flight per recipient and forget acknowledged replies", async () => {
    const clock = createManualClock(Date.now());
    const outbox = createRedisOutbox({ redis: t.redisHandle?.redis as Cluster, prefix: t.prefix, clock });
    const [ana, ben] = ["+447700900001", "+447700900002"];
    await outbox.enqueue([reply(ana, 1), reply(ana, 2), reply(ben, 1)]);
    await outbox.enqueue([reply(ana, 1)]);
    expect(await outbox.depth()).to.equal(3);
    const first = await outbox.claim(10, 1_000);
    expect(first.map((item) => label(item.reply)).sort()).to.deep.equal([`${ana}/1.0`, `${ben}/1.0`]);
    expect(await outbox.claim(10, 1_000), "both recipients are in flight").to.deep.equal([]);
    for (const item of first) expect(await outbox.ack(item)).to.equal(true);
    const second = await outbox.claim(10, 1_000);
    expect(second.map((item) => label(item.reply))).to.deep.equal([`${ana}/2.0`]);
    expect(await outbox.ack(second[0] as (typeof second)[0])).to.equal(true);
    expect(await outbox.depth()).to.equal(0);
    await outbox.enqueue([reply(ana, 2)]);
    expect(await outbox.depth(), "an acknowledged reply is not sent again").to.equal(0);
  });

  it("should deliver web chat replies through the mailbox once each, in order", async () => {
    const gateways = await open();
    const listening = createServer(gateways.app.callback());
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    const visitor = await startVisitor(`http://127.0.0.1:${(listening.address() as AddressInfo).port}`);
    const stream = await visitor.events();
    const repeated = crypto.randomUUID();
    for (const [text, id] of [
      ["what is my balance?", repeated],
      ["what is my balance?", repeated],
      ["hi", undefined],
    ] as const)
      expect(await visitor.send({ text }, id)).to.equal(202);
    const replies = await stream.waitFor(2);
    stream.close();
    expect(replies.map((r) => [r.id, r.text.slice(0, 12)])).to.deep.equal([
      ["1", NOT_A_CUSTOMER.slice(0, 12)],
      ["2", "Hello! How c"],
    ]);
    expect(await drained(gateways)).to.equal(0);
    const mailbox = [...(await masters())].filter(([, keys]) =>
      keys.some((key) => key.includes(`:webchat:{${visitor.visitorId}}:`)),
    );
    expect(mailbox, "the visitor's mailbox keys share one master").to.have.length(1);
  });

  it("should answer 429 once a client spends its per-IP limit, counted in the cluster", async () => {
    const gateways = await open({ RATE_LIMIT_PER_IP: "3/1m" });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await request(gateways.app.callback()).post("/webhooks/whatsapp")).status);
    expect(statuses.slice(0, 3)).to.not.include(429);
    expect(statuses[3]).to.equal(429);
    const counters = (await masters()).values();
    expect([...counters].flat().filter((key) => key.includes(":rl:ip:"))).to.have.length(1);
  });
});
