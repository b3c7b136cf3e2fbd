import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "./logger.js";

/**
 * A counter whose every increment names all its labels. Label values are bounded sets only: a
 * route template, a status, a channel or limit name — never an id, a phone number or message
 * text (security.md LOG-1; DESIGN.md "Operations"), as each distinct value is a new time series
 * kept forever by Prometheus and readable by anyone who can scrape.
 */
export interface LabeledCounter<Labels extends Record<string, string | number>> {
  /** Adds `value` (default 1) to the series named by `labels`. */
  inc(labels: Labels, value?: number): void;
}

/** A counter without labels. */
export interface PlainCounter {
  /** Adds `value` (default 1). */
  inc(value?: number): void;
}

/** Labels of request counts: `route` is a known path or RPC (anything else is "unmatched"), `status` a code. */
export interface RequestLabels extends Record<string, string | number> {
  readonly route: string;
  readonly status: string | number;
}

/** Labels of request latency; status is left out to keep the histogram's series few. */
export interface RouteLabels extends Record<string, string | number> {
  readonly route: string;
}

/** A latency histogram in seconds, by route. */
export interface DurationHistogram {
  /** Records one request of `seconds` on `labels.route`. */
  observe(labels: RouteLabels, seconds: number): void;
  /** Starts a timer; calling the result with the route records the elapsed seconds. */
  startTimer(): (labels: RouteLabels) => number;
}

/** Instruments both processes have. */
export interface CommonMetrics {
  /** The process's own registry, served by the admin handler's `/metrics`. */
  readonly registry: Registry;
  /** `teller_requests_total{route, status}`: finished requests. */
  readonly requests: LabeledCounter<RequestLabels>;
  /** `teller_request_duration_seconds{route}`: request latency, 1 ms to 10 s buckets. */
  readonly requestDuration: DurationHistogram;
  /** `teller_rate_limited_total{limit}`: requests refused by a limiter ("ip", "otp", …). */
  readonly rateLimited: LabeledCounter<{ limit: string }>;
}

/**
 * Why a step-up code was refused: "invalid" — a wrong (or replayed TOTP) code against a live
 * challenge; "expired" — the challenge is unknown, expired or already used, so the code was never
 * compared (many of these suggest codes arriving late); "locked" — the customer's lockout refused
 * the attempt before any comparison (security.md RL-8).
 */
export type StepUpFailureReason = "invalid" | "expired" | "locked";

/** Every StepUpFailureReason, each series created at 0 so the first failure shows in increase(). */
export const STEP_UP_FAILURE_REASONS: readonly StepUpFailureReason[] = ["invalid", "expired", "locked"];

/**
 * What the ledger decided for a transfer: "posted" (money moved), "held" (stopped by a fraud rule
 * for review), "refused" (a limit or fraud rule, TRANSFER_REFUSED), "rejected" (the request could
 * not be made: insufficient funds, another currency, a reused idempotency key, an unknown account)
 * or "failed" (the ledger could not decide: database down or contended — an outage, not a customer).
 */
export type TransferOutcome = "posted" | "held" | "refused" | "rejected" | "failed";

/** Every TransferOutcome, each series created at 0. */
export const TRANSFER_OUTCOMES: readonly TransferOutcome[] = [
  "posted",
  "held",
  "refused",
  "rejected",
  "failed",
];

/** What walking the audit hash chain found: every entry links ("ok"), or one does not ("broken"). */
export type AuditChainResult = "ok" | "broken";

/** Every AuditChainResult, each series created at 0, so a first "broken" is an increase. */
export const AUDIT_CHAIN_RESULTS: readonly AuditChainResult[] = ["ok", "broken"];

/** The core's instruments. */
export interface CoreMetrics extends CommonMetrics {
  /** `teller_sessions_created_total`: conversation sessions opened. */
  readonly sessionsCreated: PlainCounter;
  /** `teller_step_up_failures_total{reason}`: step-up codes refused, by StepUpFailureReason. */
  readonly stepUpFailures: LabeledCounter<{ reason: StepUpFailureReason }>;
  /** `teller_step_up_lockouts_total`: challenges ended by too many wrong codes (PSD2 RTS art. 4(3)(b)). */
  readonly stepUpLockouts: PlainCounter;
  /** `teller_transfers_total{outcome}`: transfers the ledger decided, replays of a key not counted. */
  readonly transfers: LabeledCounter<{ outcome: TransferOutcome }>;
  /** `teller_audit_chain_verifications_total{result}`: walks of the audit hash chain and what they found. */
  readonly auditChainVerifications: LabeledCounter<{ result: AuditChainResult }>;
}

/** The gateways' instruments. */
export interface GatewayMetrics extends CommonMetrics {
  /** `teller_webhook_signature_failures_total{channel}`: webhooks refused for a bad signature. */
  readonly signatureFailures: LabeledCounter<{ channel: string }>;
  /** `teller_outbox_sends_total{channel}`: replies delivered to a provider. */
  readonly outboxSends: LabeledCounter<{ channel: string }>;
  /** `teller_outbox_send_failures_total{channel, kind}`: "retry" (to be tried again) or "dead". */
  readonly outboxSendFailures: LabeledCounter<{ channel: string; kind: "retry" | "dead" }>;
  /**
   * Sets where `teller_outbox_depth` is read at each scrape (the gateway passes its outbox's
   * length). Until set, and whenever the source rejects, the gauge reads NaN: unknown, not 0.
   * The source should bound its own time (the Redis client's command timeout).
   */
  setOutboxDepthSource(source: () => Promise<number>): void;
}

/** Optional collaborators of createMetrics. */
export interface MetricsDeps {
  /** Receives the cause when the outbox depth source fails during a scrape. */
  readonly logger?: Logger;
}

/** Histogram buckets in seconds from 1 ms to 10 s, about three per decade. */
export const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/**
 * Creates the metrics of one process on its own Registry (never prom-client's global one, so
 * tests and two roots in one process — `teller dev` — don't collide), with the default process
 * metrics prefixed `teller_` and a `process` label naming the root.
 */
export function createMetrics(processName: "core", deps?: MetricsDeps): CoreMetrics;
export function createMetrics(processName: "gateways", deps?: MetricsDeps): GatewayMetrics;
export function createMetrics(
  processName: "core" | "gateways",
  deps: MetricsDeps = {},
): CoreMetrics | GatewayMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry, prefix: "teller_" });
  const common = createCommon(registry);
  if (processName === "core") return { ...common, ...createCoreOnly(registry) };
  return { ...common, ...createGatewayOnly(registry, deps) };
}

function createCoreOnly(registry: Registry) {
  return {
    sessionsCreated: counter(registry, "teller_sessions_created_total", "Sessions opened.", []),
    stepUpFailures: zeroed(
      counter(registry, "teller_step_up_failures_total", "Step-up codes refused, by reason.", ["reason"]),
      "reason",
      STEP_UP_FAILURE_REASONS,
    ),
    stepUpLockouts: counter(
      registry,
      "teller_step_up_lockouts_total",
      "Step-up challenges ended by too many wrong codes.",
      [],
    ),
    transfers: zeroed(
      counter(registry, "teller_transfers_total", "Transfers decided by the ledger, by outcome.", [
        "outcome",
      ]),
      "outcome",
      TRANSFER_OUTCOMES,
    ),
    auditChainVerifications: zeroed(
      counter(
        registry,
        "teller_audit_chain_verifications_total",
        "Audit hash chain verifications, by result.",
        ["result"],
      ),
      "result",
      AUDIT_CHAIN_RESULTS,
    ),
  };
}

function createCommon(registry: Registry): CommonMetrics {
  const requestDuration = new Histogram({
    name: "teller_request_duration_seconds",
    help: "Request latency in seconds by route template.",
    labelNames: ["route"],
    buckets: [...DURATION_BUCKETS_SECONDS],
    registers: [registry],
  });
  return {
    registry,
    requests: counter(registry, "teller_requests_total", "Finished requests by route and status.", [
      "route",
      "status",
    ]),
    requestDuration,
    rateLimited: counter(registry, "teller_rate_limited_total", "Requests refused by a rate limit.", [
      "limit",
    ]),
  };
}

function createGatewayOnly(registry: Registry, deps: MetricsDeps) {
  let depthSource: (() => Promise<number>) | undefined;
  new Gauge({
    name: "teller_outbox_depth",
    help: "Replies waiting in the outbox; NaN when unknown.",
    registers: [registry],
    async collect() {
      this.set(await readDepth(depthSource, deps.logger));
    },
  });
  return {
    signatureFailures: counter(
      registry,
      "teller_webhook_signature_failures_total",
      "Webhooks refused for a missing or wrong signature.",
      ["channel"],
    ),
    outboxSends: counter(registry, "teller_outbox_sends_total", "Replies delivered.", ["channel"]),
    outboxSendFailures: counter(
      registry,
      "teller_outbox_send_failures_total",
      "Failed reply sends; kind is retry or dead.",
      ["channel", "kind"],
    ),
    setOutboxDepthSource(source: () => Promise<number>): void {
      depthSource = source;
    },
  };
}

async function readDepth(
  source: (() => Promise<number>) | undefined,
  logger: Logger | undefined,
): Promise<number> {
  if (source === undefined) return Number.NaN;
  try {
    return await source();
  } catch (err) {
    // A failed read must not fail the whole scrape: the other metrics matter most in an outage.
    logger?.warn({ err }, "outbox depth unavailable for metrics");
    return Number.NaN;
  }
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]) {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

/**
 * Creates the series of each known value at 0. A series that first appears at 1 has no earlier
 * sample, so Prometheus' increase() reads it as no change and a rare event (a broken chain) would
 * never alert: zeroed series make the first event an increase.
 */
function zeroed<L extends string>(metric: Counter<L>, label: L, values: readonly string[]): Counter<L> {
  for (const value of values) metric.inc({ [label]: value } as Partial<Record<L, string>>, 0);
  return metric;
}
