import { expect } from "chai";
import { createMetrics } from "../../lib/metrics.js";

describe("createMetrics", () => {
  it("should let two roots in one process create their metrics side by side", async () => {
    const core = createMetrics("core");
    const gateways = createMetrics("gateways");
    core.sessionsCreated.inc();
    gateways.rateLimited.inc({ limit: "ip" });
    expect(await core.registry.metrics()).to.include('teller_sessions_created_total{process="core"} 1');
    expect(await gateways.registry.metrics()).not.to.include("teller_sessions_created_total");
  });

  it("should start every bounded series of step-up, transfer and audit counters at 0, in the core only", async () => {
    // A series born at 1 shows no increase() in Prometheus, so the first broken chain would not alert.
    const text = await createMetrics("core").registry.metrics();
    const expected = [
      ...["invalid", "expired", "locked"].map(
        (reason) => `teller_step_up_failures_total{reason="${reason}",process="core"} 0`,
      ),
      'teller_step_up_lockouts_total{process="core"} 0',
      ...["posted", "held", "refused", "rejected", "failed"].map(
        (outcome) => `teller_transfers_total{outcome="${outcome}",process="core"} 0`,
      ),
      ...["ok", "broken"].map(
        (result) => `teller_audit_chain_verifications_total{result="${result}",process="core"} 0`,
      ),
    ];
    for (const line of expected) expect(text).to.include(line);
    const gateways = await createMetrics("gateways").registry.metrics();
    expect(gateways).not.to.match(/teller_(step_up|transfers|audit_chain)/);
  });

  it("should include the default process metrics with the teller_ prefix", async () => {
    const text = await createMetrics("core").registry.metrics();
    expect(text).to.include("teller_process_cpu_user_seconds_total");
  });

  it("should record latency in second buckets from 1 ms to 10 s", async () => {
    const metrics = createMetrics("core");
    metrics.requestDuration.observe({ route: "/teller.v1.ConversationService/HandleMessage" }, 0.003);
    const metric = await metrics.registry.getSingleMetric("teller_request_duration_seconds")?.get();
    const buckets = metric?.values.filter((v) => v.labels.le !== undefined);
    expect(buckets?.map((v) => v.labels.le)).to.deep.equal([
      0.001,
      0.0025,
      0.005,
      0.01,
      0.025,
      0.05,
      0.1,
      0.25,
      0.5,
      1,
      2.5,
      5,
      10,
      "+Inf",
    ]);
    expect(buckets?.find((v) => v.labels.le === 0.005)?.value).to.equal(1);
    expect(buckets?.find((v) => v.labels.le === 0.0025)?.value).to.equal(0);
  });

  it("should read the outbox depth from the source at each scrape", async () => {
    const metrics = createMetrics("gateways");
    let depth = 3;
    metrics.setOutboxDepthSource(async () => depth);
    expect(await metrics.registry.metrics()).to.include('teller_outbox_depth{process="gateways"} 3');
    depth = 0;
    expect(await metrics.registry.metrics()).to.include('teller_outbox_depth{process="gateways"} 0');
  });

  it("should report the outbox depth as unknown, not fail the scrape, when the source rejects", async () => {
    const metrics = createMetrics("gateways");
    metrics.outboxSends.inc({ channel: "whatsapp" });
    metrics.outboxSendFailures.inc({ channel: "whatsapp", kind: "retry" });
    metrics.setOutboxDepthSource(() => Promise.reject(new Error("redis down")));
    const text = await metrics.registry.metrics();
    // prom-client writes NaN as "Nan"; Prometheus parses it case-insensitively.
    expect(text).to.match(/^teller_outbox_depth\{process="gateways"\} nan$/im);
    expect(text).to.include(
      'teller_outbox_send_failures_total{channel="whatsapp",kind="retry",process="gateways"} 1',
    );
  });
});
