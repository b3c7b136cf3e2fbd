import { expect } from "chai";
import { Gauge, Registry } from "prom-client";
import {
  type AdminServer,
  checkWithTimeout,
  createAdminHandler,
  listenAdmin,
  type ReadyReport,
} from "../../lib/admin-server.js";
import { createMetrics } from "../../lib/metrics.js";

describe("admin server", () => {
  let admin: AdminServer | undefined;

  afterEach(async () => {
    await admin?.close();
    admin = undefined;
  });

  async function start(ready: () => Promise<ReadyReport>, registry = createMetrics("core").registry) {
    admin = await listenAdmin(createAdminHandler({ registry, ready, readyTimeoutMs: 50 }), "127.0.0.1", 0);
    const base = `http://127.0.0.1:${admin.port}`;
    return (path: string, init?: RequestInit) => fetch(`${base}${path}`, init);
  }

  const allReady = async () => ({ redis: true, core: true });

  it("should answer /healthz with ok while the process lives", async () => {
    const get = await start(async () => ({ redis: false }));
    const res = await get("/healthz");
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: "ok" });
  });

  it("should answer /readyz with 200 and every check when all are true", async () => {
    const get = await start(allReady);
    const res = await get("/readyz");
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: "ready", checks: { redis: true, core: true } });
  });

  it("should answer /readyz with 503 naming the failing check", async () => {
    const get = await start(async () => ({ redis: false, core: true }));
    const res = await get("/readyz");
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.equal({
      status: "not ready",
      checks: { redis: false, core: true },
    });
  });

  it("should answer /readyz with 503 and no error text when ready() rejects", async () => {
    const get = await start(async () => {
      throw new Error("ECONNREFUSED 10.0.0.7:6379");
    });
    const res = await get("/readyz");
    expect(res.status).to.equal(503);
    const text = await res.text();
    expect(text).not.to.include("ECONNREFUSED");
    expect(JSON.parse(text)).to.deep.equal({ status: "not ready", checks: {} });
  });

  it("should answer /readyz with 503 when ready() never settles", async () => {
    const get = await start(() => new Promise<ReadyReport>(() => {}));
    const res = await get("/readyz");
    expect(res.status).to.equal(503);
    expect(((await res.json()) as { status: string }).status).to.equal("not ready");
  });

  it("should serve the registry's counters in Prometheus text on /metrics", async () => {
    const metrics = createMetrics("gateways");
    metrics.requests.inc({ route: "/webhooks/whatsapp", status: 200 });
    metrics.signatureFailures.inc({ channel: "whatsapp" });
    const get = await start(allReady, metrics.registry);
    const res = await get("/metrics");
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).to.include(
      'teller_requests_total{route="/webhooks/whatsapp",status="200",process="gateways"} 1',
    );
    expect(text).to.include(
      'teller_webhook_signature_failures_total{channel="whatsapp",process="gateways"} 1',
    );
  });

  it("should answer 404 for an unknown path", async () => {
    const get = await start(allReady);
    const res = await get("/admin");
    expect(res.status).to.equal(404);
  });

  it("should answer 405 with Allow for a method other than GET", async () => {
    const get = await start(allReady);
    const res = await get("/metrics", { method: "POST", body: "x" });
    expect(res.status).to.equal(405);
    expect(res.headers.get("allow")).to.equal("GET");
  });

  it("should answer a generic 500 when the scrape fails", async () => {
    const registry = new Registry();
    new Gauge({
      name: "teller_broken",
      help: "A gauge whose collect fails.",
      registers: [registry],
      collect() {
        throw new Error("secret detail");
      },
    });
    const get = await start(allReady, registry);
    const res = await get("/metrics");
    expect(res.status).to.equal(500);
    expect(await res.text()).to.equal('{"status":"error"}');
  });
});

describe("checkWithTimeout", () => {
  it("should be true when the check resolves in time", async () => {
    expect(await checkWithTimeout(async () => "PONG", 1_000)).to.equal(true);
  });

  it("should be false when the check resolves false", async () => {
    expect(await checkWithTimeout(async () => false, 1_000)).to.equal(false);
  });

  it("should be false and report the cause when the check rejects", async () => {
    const causes: unknown[] = [];
    const ok = await checkWithTimeout(
      () => Promise.reject(new Error("down")),
      1_000,
      (err) => causes.push(err),
    );
    expect(ok).to.equal(false);
    expect((causes[0] as Error).message).to.equal("down");
  });

  it("should be false when the check hangs past its bound", async () => {
    expect(await checkWithTimeout(() => new Promise(() => {}), 20)).to.equal(false);
  });
});
