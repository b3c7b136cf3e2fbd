import { randomBytes, randomInt } from "node:crypto";
import { expect } from "chai";
import type { Redis } from "ioredis";
import { replyKey } from "../../gateways/outbox/queue.js";
import { deriveDevSecret, ensureDevSecrets } from "../../lib/dev-secrets.js";
import { createRedis, hashTag, waitForRedis } from "../../lib/redis.js";
import { type FakeGraph, startFakeGraph } from "../support/fake-graph.js";
import { sign, whatsAppBody } from "../support/gateway.js";
import { redisUrl } from "../support/redis.js";
import {
  Children,
  childEnv,
  delay,
  eventually,
  exitWithin,
  logLine,
  type Running,
} from "../support/teller-process.js";

/** The development default of WHATSAPP_PHONE_NUMBER_ID, passed explicitly and served by the fake. */
const PHONE_NUMBER_ID = "100000000000001";
const BALANCE_TEXT = "Your balance is 1,250.00 EUR.";
/** The outbox of `teller gateways` on the shared Redis: the default key prefix "teller". */
// A key prefix of this run's own: the processes share the test Redis with other runs and tests.
const PREFIX = `test-${randomBytes(6).toString("hex")}`;
const OUTBOX = `${PREFIX}:${hashTag("outbox")}`;

/** A number of its own per test and run, from Ofcom's drama range, so runs on one Redis never meet. */
function uniquePhone(): string {
  return `+4477009${String(randomInt(0, 100_000)).padStart(5, "0")}`;
}

/** The outbox's name for one recipient's queue, as the gateway derives it. */
function recipientOf(phone: string): string {
  const probe = { channel: "whatsapp", recipient: phone, messageId: "m", sequence: 0, index: 0 };
  return replyKey({ ...probe, text: "", choices: [] }).recipientId;
}

describe("teller gateways restarted with replies pending (separate processes, real Redis)", function () {
  this.timeout(120_000);
  const children = new Children();
  /** Every (phone, wamid) this suite sent, for the after hook to leave no outbox state behind. */
  const sent: { phone: string; wamid: string }[] = [];
  let dataDir: string;
  let url: string;
  let redis: Redis;
  let graph: FakeGraph;
  let appSecret: string;
  let corePort: number;
  let connectPort: number;
  let adminToken: string;

  async function connectJson(path: string, body: unknown) {
    const response = await fetch(`http://127.0.0.1:${connectPort}/teller.v1.${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    expect(response.status, `${path}: ${text}`).to.equal(200);
    return JSON.parse(text) as Record<string, Record<string, unknown>>;
  }

  /** Registers a customer on `phone` with a EUR account holding 1,250.00 EUR, through the core. */
  async function seedCustomer(phone: string): Promise<void> {
    const { customer } = await connectJson("CustomerService/CreateCustomer", {
      displayName: "Restart Test",
      phoneNumber: phone,
    });
    const { account } = await connectJson("CustomerService/OpenAccount", {
      customerId: customer.customerId,
      currency: "EUR",
    });
    await connectJson("CustomerService/Deposit", {
      accountId: account.accountId,
      amount: { currency: "EUR", minorUnits: "125000" },
      reference: "Welcome deposit",
      idempotencyKey: `restart-${randomBytes(8).toString("hex")}`,
    });
  }

  /** Starts `teller gateways` against the core, the shared Redis and the fake Graph API. */
  async function startGateways(extra: Record<string, string> = {}): Promise<{ run: Running; port: number }> {
    const run = children.teller(
      ["gateways"],
      childEnv({
        DATA_DIR: dataDir,
        NODE_ENV: "development",
        REDIS_URL: url,
        REDIS_KEY_PREFIX: PREFIX,
        CORE_URL: `127.0.0.1:${corePort}`,
        GATEWAY_PORT: "0",
        ADMIN_PORT: "0",
        WHATSAPP_API_BASE_URL: graph.baseUrl,
        WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
        // The per-IP limit is counted on Redis per client IP; every request here comes from 127.0.0.1.
        RATE_LIMIT_PER_IP: "100000/1m",
        ...extra,
      }),
    );
    const listening = await run.waitFor("the gateways listening log line", (out) =>
      logLine(out.stdout, "gateways listening"),
    );
    return { run, port: Number(listening.gatewayPort) };
  }

  /** POSTs a signed webhook asking for the balance from `phone`; returns the HTTP status. */
  async function askBalance(port: number, phone: string): Promise<number> {
    const wamid = `wamid.${randomBytes(12).toString("hex")}`;
    sent.push({ phone, wamid });
    const body = whatsAppBody(
      {
        from: phone.slice(1),
        id: wamid,
        timestamp: String(Math.floor(Date.now() / 1000)),
        type: "text",
        text: { body: "what is my balance?" },
      },
      PHONE_NUMBER_ID,
    );
    const response = await fetch(`http://127.0.0.1:${port}/webhooks/whatsapp`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": sign(body, appSecret) },
      body,
    });
    await response.arrayBuffer();
    return response.status;
  }

  const deliveredTo = (phone: string) => graph.received.filter((m) => m.to === phone);

  /** Replies waiting or in flight for `phone`, and whether a worker holds its lease. */
  async function pending(phone: string) {
    const recipient = recipientOf(phone);
    const [queued, leased, ready] = await Promise.all([
      redis.zcard(`${OUTBOX}:queue:${recipient}`),
      redis.zscore(`${OUTBOX}:leases`, recipient),
      redis.zscore(`${OUTBOX}:ready`, recipient),
    ]);
    return { queued, leased: leased !== null, ready: ready !== null };
  }

  async function deadLettersFor(phone: string): Promise<number> {
    const records = await redis.lrange(`${OUTBOX}:dead`, 0, -1);
    return records.filter(
      (r) => (JSON.parse(r) as { reply: { recipient: string } }).reply.recipient === phone,
    ).length;
  }

  /** Waits for the one balance reply to `phone`, then for its queue to empty, and checks none follows. */
  async function expectDeliveredOnce(phone: string): Promise<void> {
    await eventually("delivered", () => (deliveredTo(phone).length > 0 ? true : undefined), 60_000);
    await eventually("acknowledged in the outbox", async () => {
      const state = await pending(phone);
      return state.queued === 0 && !state.leased && !state.ready ? true : undefined;
    });
    // A second send would come from a claim that outlived its ack; give the worker time to make one.
    await delay(1_500);
    const delivered = deliveredTo(phone);
    expect(delivered, "replies to the customer").to.have.length(1);
    expect(delivered[0].text).to.equal(BALANCE_TEXT);
    expect(delivered[0].type).to.equal("interactive");
    expect(await deadLettersFor(phone), "dead letters").to.equal(0);
  }

  async function stopGracefully(run: Running): Promise<void> {
    run.child.kill("SIGTERM");
    const finished = await exitWithin(run, 30_000);
    expect({ code: finished.code, signal: finished.signal }, finished.stdout).to.deep.equal({
      code: 0,
      signal: null,
    });
  }

  before(async () => {
    url = await redisUrl();
    redis = createRedis(url);
    await waitForRedis(redis);
    dataDir = children.tempDir();
    // Generated once here, before any process starts, so every process and the test share them.
    const secrets = await ensureDevSecrets(dataDir);
    appSecret = deriveDevSecret(secrets, "WHATSAPP_APP_SECRET");
    graph = await startFakeGraph({
      token: deriveDevSecret(secrets, "WHATSAPP_ACCESS_TOKEN"),
      phoneNumberId: PHONE_NUMBER_ID,
      version: "v21.0",
    });
    const core = children.teller(
      ["core"],
      childEnv({
        DATA_DIR: dataDir,
        NODE_ENV: "development",
        REDIS_URL: url,
        REDIS_KEY_PREFIX: PREFIX,
        CORE_PORT: "0",
        CONNECT_PORT: "0",
        ADMIN_PORT: "0",
      }),
    );
    const listening = await core.waitFor("the core listening log line", (out) =>
      logLine(out.stdout, "core listening"),
    );
    corePort = Number(listening.corePort);
    connectPort = Number(listening.connectPort);
    const token = children.teller(
      ["token", "--scopes", "banking:admin"],
      childEnv({ DATA_DIR: dataDir, NODE_ENV: "development" }),
    );
    const minted = await exitWithin(token, 30_000);
    expect(minted.code, minted.stderr).to.equal(0);
    adminToken = minted.stdout.trim();
  });

  after(async () => {
    await children.cleanup();
    await graph?.close();
    if (redis) {
      await removeOutboxState(redis, sent);
      // Everything else the processes wrote (sessions, limits, markers) is under this run's prefix.
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${PREFIX}:*`, "COUNT", 500);
        if (keys.length > 0) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== "0");
      await redis.quit();
    }
  });

  it("should deliver the reply once after a gateway killed between acknowledgement and send restarts", async () => {
    const phone = uniquePhone();
    await seedCustomer(phone);
    const first = await startGateways();
    const before = graph.requestCount();
    // Two failures, then a send that never answers: the reply is acknowledged, tried, and in flight.
    graph.failNext([{ status: 500 }, { status: 500 }, { hang: true }]);
    expect(await askBalance(first.port, phone)).to.equal(200);
    await eventually("three send attempts", () => (graph.requestCount() >= before + 3 ? true : undefined));
    expect(deliveredTo(phone), "delivered before the kill").to.have.length(0);
    expect(await pending(phone)).to.include({ queued: 1 });

    first.run.child.kill("SIGKILL");
    const killed = await exitWithin(first.run, 30_000);
    expect(killed.signal).to.equal("SIGKILL");
    expect(deliveredTo(phone), "delivered by the killed gateway").to.have.length(0);

    // Every scripted failure is used up: the next gateway's send succeeds once its lease returns.
    const second = await startGateways();
    await expectDeliveredOnce(phone);
    await stopGracefully(second.run);
  });

  it("should finish the hanging send on SIGTERM, exit 0, and leave the reply for the next gateway to deliver once", async () => {
    const phone = uniquePhone();
    await seedCustomer(phone);
    // The sender's timeout bounds how long a graceful stop waits for a send in flight.
    const first = await startGateways({ HTTP_TIMEOUT: "3s" });
    const before = graph.requestCount();
    graph.failNext([{ hang: true }]);
    expect(await askBalance(first.port, phone)).to.equal(200);
    await eventually("a send attempt", () => (graph.requestCount() >= before + 1 ? true : undefined));
    expect(deliveredTo(phone)).to.have.length(0);

    await stopGracefully(first.run);
    // The stop recorded the timed-out attempt: the reply is queued for a retry, no longer leased.
    expect(await pending(phone)).to.deep.equal({ queued: 1, leased: false, ready: true });
    expect(deliveredTo(phone), "delivered by the stopped gateway").to.have.length(0);

    const second = await startGateways();
    await expectDeliveredOnce(phone);
    await stopGracefully(second.run);
  });
});

/**
 * Removes what the suite's messages left in the shared outbox: normally only their seen markers,
 * after a failure also their queued replies, so no later run's gateway sends them.
 */
async function removeOutboxState(redis: Redis, sent: readonly { phone: string; wamid: string }[]) {
  for (const { phone, wamid } of sent) {
    const recipient = recipientOf(phone);
    const queue = `${OUTBOX}:queue:${recipient}`;
    const orders = await redis.zrange(queue, 0, -1);
    const replyIds = orders.map((order) => order.slice(order.lastIndexOf(":") + 1));
    if (replyIds.length > 0) {
      await redis.hdel(`${OUTBOX}:replies`, ...replyIds);
      await redis.hdel(`${OUTBOX}:attempts`, ...replyIds);
    }
    await redis.del(queue);
    await redis.zrem(`${OUTBOX}:ready`, recipient);
    await redis.zrem(`${OUTBOX}:leases`, recipient);
    await redis.hdel(`${OUTBOX}:claims`, recipient);
    for (let index = 0; index < 4; index++) {
      const reply = { channel: "whatsapp", recipient: phone, messageId: wamid, sequence: 0, index };
      await redis.del(`${OUTBOX}:seen:${replyKey({ ...reply, text: "", choices: [] }).replyId}`);
    }
  }
}
