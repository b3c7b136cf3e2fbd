import { Writable } from "node:stream";
import { expect } from "chai";
import type { Context } from "koa";
import request from "supertest";
import { createGatewayApp } from "../../gateways/app.js";
import type { ChannelRoute } from "../../gateways/channel.js";
import { createLogger } from "../../lib/logger.js";
import { createLimiter } from "../../lib/rate-limit.js";
import { createRedis } from "../../lib/redis.js";
import { createTestRedis, freePort, type TestRedis } from "../support/redis.js";

/** A route that answers the size of the raw body it was given, or fails on demand. */
const probe: ChannelRoute = {
  channel: "probe",
  path: "/webhooks/probe",
  async handle(ctx: Context) {
    if (ctx.query.fail === "1") throw new Error("secret internal detail at /srv/app.js:12");
    ctx.body = { bytes: ctx.state.rawBody.length, requestId: ctx.state.requestId };
  },
};

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _e, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, logger: createLogger({ level: "debug", destination }) };
}

describe("createGatewayApp", () => {
  let redis: TestRedis;
  beforeEach(async () => {
    redis = await createTestRedis();
  });
  afterEach(() => redis.cleanup());

  const build = (
    options: { points?: number; maxBodyBytes?: number; origins?: string[]; limiterRedis?: unknown } = {},
  ) => {
    const { lines, logger } = capture();
    const ipLimiter = createLimiter({
      redis: (options.limiterRedis ?? redis.redis) as TestRedis["redis"],
      keyPrefix: `${redis.prefix}:rl:ip`,
      points: options.points ?? 100,
      durationSeconds: 900,
    });
    const app = createGatewayApp({
      logger,
      ipLimiter,
      routes: [probe],
      maxBodyBytes: options.maxBodyBytes ?? 1024,
      corsOrigins: options.origins ?? [],
      trustProxy: false,
    });
    return { app, lines };
  };

  it("should log a client that went away mid-response at debug, and any other late error as a warning", () => {
    const { app, lines } = build();
    const gone = Object.assign(new Error("Premature close"), { code: "ERR_STREAM_PREMATURE_CLOSE" });
    app.emit("error", gone);
    app.emit("error", Object.assign(new Error("boom"), { code: "EBADF" }));
    const logged = lines.map((l) => JSON.parse(l) as { level: string; msg: string });
    expect(logged.map((l) => [l.level, l.msg])).to.deep.equal([
      ["debug", "client went away mid-response"],
      ["warn", "http error outside a request"],
    ]);
  });

  it("should hand the exact raw bytes to the route and set security headers", async () => {
    const { app } = build();
    const body = '{"a":"Caf\\u00e9"}';
    const res = await request(app.callback())
      .post("/webhooks/probe")
      .set("content-type", "application/json")
      .send(body);
    expect(res.status).to.equal(200);
    expect(res.body.bytes).to.equal(Buffer.byteLength(body));
    expect(res.headers["x-content-type-options"]).to.equal("nosniff");
    expect(res.headers["strict-transport-security"]).to.be.a("string");
  });

  it("should refuse a body over the limit with 413 and a generic body, declared or chunked", async () => {
    const { app } = build({ maxBodyBytes: 1024 });
    const big = "x".repeat(1025);
    const declared = await request(app.callback()).post("/webhooks/probe").send(big);
    expect(declared.status).to.equal(413);
    expect(declared.body).to.deep.equal({ error: "payload too large" });
    // Without Content-Length (chunked), the limit holds while reading.
    const server = app.listen(0);
    try {
      const { port } = server.address() as { port: number };
      const stream = new ReadableStream({
        start(controller) {
          for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode("x".repeat(400)));
          controller.close();
        },
      });
      const chunked = await fetch(`http://127.0.0.1:${port}/webhooks/probe`, {
        method: "POST",
        body: stream,
        duplex: "half",
      } as RequestInit);
      expect(chunked.status).to.equal(413);
    } finally {
      server.close();
    }
  });

  it("should pass a well-formed x-request-id through and make one otherwise", async () => {
    const { app } = build();
    const kept = await request(app.callback())
      .post("/webhooks/probe")
      .set("x-request-id", "abc-1")
      .send("{}");
    expect(kept.headers["x-request-id"]).to.equal("abc-1");
    expect(kept.body.requestId).to.equal("abc-1");
    const made = await request(app.callback())
      .post("/webhooks/probe")
      .set("x-request-id", "bad id!")
      .send("{}");
    expect(made.headers["x-request-id"]).to.match(/^req_/);
  });

  it("should answer 429 with Retry-After beyond the per-IP limit, on the shared Redis", async () => {
    const first = build({ points: 3 });
    const second = build({ points: 3 }); // another gateway process on the same Redis
    const statuses: number[] = [];
    for (const app of [first.app, second.app, first.app, second.app]) {
      statuses.push((await request(app.callback()).post("/webhooks/probe").send("{}")).status);
    }
    expect(statuses).to.deep.equal([200, 200, 200, 429]);
    const limited = await request(first.app.callback()).post("/webhooks/probe").send("{}");
    expect(limited.status).to.equal(429);
    expect(Number(limited.headers["retry-after"])).to.be.greaterThan(0);
    expect(limited.body).to.deep.equal({ error: "too many requests" });
  });

  it("should keep limiting through the insurance limiter while Redis is down", async () => {
    const down = createRedis(`redis://127.0.0.1:${await freePort()}`, { connectTimeoutMs: 200 });
    down.on("error", () => {});
    try {
      const { app } = build({ points: 2, limiterRedis: down });
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await request(app.callback()).post("/webhooks/probe").send("{}")).status);
      expect(statuses).to.deep.equal([200, 200, 429]);
    } finally {
      down.disconnect();
    }
  });

  it("should answer failures with a generic body and log the cause, never the request body", async () => {
    const { app, lines } = build();
    const res = await request(app.callback())
      .post("/webhooks/probe?fail=1")
      .send('{"text":"my secret message"}');
    expect(res.status).to.equal(500);
    expect(res.body).to.deep.equal({ error: "internal error" });
    expect(res.text).not.to.include("secret internal detail");
    const log = lines.join("");
    expect(log).to.include("secret internal detail");
    expect(log).not.to.include("my secret message");
    const missing = await request(app.callback()).get("/nope?hub.verify_token=shh");
    expect(missing.status).to.equal(404);
    expect(lines.join("")).not.to.include("shh");
  });

  it("should send CORS headers only to configured origins", async () => {
    const { app } = build({ origins: ["https://bank.example"] });
    const ok = await request(app.callback()).options("/webhooks/probe").set("origin", "https://bank.example");
    expect(ok.status).to.equal(204);
    expect(ok.headers["access-control-allow-origin"]).to.equal("https://bank.example");
    const other = await request(app.callback())
      .post("/webhooks/probe")
      .set("origin", "https://evil.example")
      .send("{}");
    expect(other.headers["access-control-allow-origin"]).to.equal(undefined);
  });
});
