import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { parse, stringify } from "yaml";
import { createMetrics } from "../lib/metrics.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PROMETHEUS_DIR = join(ROOT, "deploy", "prometheus");
const ALERTS = join(PROMETHEUS_DIR, "alerts.yaml");
const ALERT_TESTS = join(PROMETHEUS_DIR, "alerts.test.yaml");
const DASHBOARD = join(ROOT, "deploy", "grafana", "teller-dashboard.json");

interface AlertRule {
  alert: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface AlertTestCase {
  alertname: string;
  exp_alerts?: unknown[];
}
interface Panel {
  type: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr: string }[];
}

const rules = (parse(readFileSync(ALERTS, "utf8")) as { groups: { rules: AlertRule[] }[] }).groups.flatMap(
  (group) => group.rules,
);
const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: string }[] };
  panels: Panel[];
};
const queryPanels = dashboard.panels.filter((panel) => panel.type !== "row");

/** Runs promtool; a missing binary fails with how to install it (never skipped). */
async function promtool(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)("promtool", args, { cwd: PROMETHEUS_DIR });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & {
      code?: number | string;
      stdout?: string;
      stderr?: string;
    };
    if (failure.code === "ENOENT") {
      throw new Error(
        "promtool is missing: run 'apt-get install -y prometheus' (Debian's package ships promtool)",
      );
    }
    return { code: Number(failure.code ?? 1), output: `${failure.stdout ?? ""}${failure.stderr ?? ""}` };
  }
}

const PROMQL_KEYWORDS = new Set(["and", "or", "unless", "offset", "bool", "inf", "nan"]);

/**
 * The metric names a PromQL expression selects: identifiers left once strings, label matchers,
 * range and offset durations, numbers, grouping label lists and Grafana variables are removed,
 * that are neither a keyword nor a function or aggregation (followed by "(").
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{?\w+\}?/g, " ")
    .replace(/\b\d+(?:\.\d+)?(?:(?:ms|[smhdwy])\d*)*\b/g, " ");
  const names: string[] = [];
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice((match.index ?? 0) + match[0].length).trimStart();
    if (after.startsWith("(") || PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return names;
}

/** Every series name the two registries expose, histograms and summaries with their suffixes. */
async function registeredNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metrics of [createMetrics("core"), createMetrics("gateways")]) {
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      names.add(metric.name);
      const type = String(metric.type);
      if (type === "histogram")
        for (const suffix of ["_bucket", "_sum", "_count"]) names.add(metric.name + suffix);
      if (type === "summary") for (const suffix of ["_sum", "_count"]) names.add(metric.name + suffix);
    }
  }
  return names;
}

describe("deploy/prometheus alerts and the Grafana dashboard", () => {
  it("should pass promtool check rules", async () => {
    const result = await promtool(["check", "rules", ALERTS]);
    expect(result.code, result.output).to.equal(0);
  });

  it("should pass every promtool unit test of the alerts", async () => {
    const result = await promtool(["test", "rules", ALERT_TESTS]);
    expect(result.code, result.output).to.equal(0);
  });

  it("should find the metric names of a PromQL expression and nothing else", () => {
    const expr = `sum by (channel, le) (rate(teller_a_total{kind="dead", x=~"b|c"}[5m] offset 1h30m))
      / on (channel) group_left (kind) (teller_b_bucket > bool 0.5) or vector(0) and teller_c[$__rate_interval]`;
    expect(metricNames(expr)).to.deep.equal(["teller_a_total", "teller_b_bucket", "teller_c"]);
  });

  it("should use only metrics that lib/metrics.ts registers, in every alert and dashboard panel", async () => {
    const registered = await registeredNames();
    const used = [
      ...rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
      ...queryPanels.flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({ where: "dashboard", expr: target.expr })),
      ),
    ];
    const unknown = used.flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => !registered.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).to.deep.equal([]);
    for (const { where, expr } of used) expect(metricNames(expr), where).to.not.be.empty;
  });

  it("should alert on every signal the operations spec names", () => {
    const alerted = new Set(rules.flatMap((rule) => metricNames(rule.expr)));
    for (const name of [
      "teller_webhook_signature_failures_total",
      "teller_rate_limited_total",
      "teller_step_up_failures_total",
      "teller_step_up_lockouts_total",
      "teller_sessions_created_total",
      "teller_outbox_depth",
      "teller_outbox_send_failures_total",
      "teller_audit_chain_verifications_total",
      "teller_requests_total",
      "teller_transfers_total",
    ]) {
      expect(alerted, name).to.include(name);
    }
  });

  it("should give every alert a severity, a summary, a description and a one-line runbook", () => {
    expect(rules).to.not.be.empty;
    for (const rule of rules) {
      expect(rule.labels?.severity, rule.alert).to.be.oneOf(["warning", "critical"]);
      for (const key of ["summary", "description", "runbook"]) {
        expect(rule.annotations?.[key]?.trim(), `${rule.alert} ${key}`).to.not.be.empty;
      }
      expect(rule.annotations?.runbook, rule.alert).to.not.include("\n");
    }
  });

  it("should have a unit test in which each alert fires", () => {
    const tests = (
      parse(readFileSync(ALERT_TESTS, "utf8")) as { tests: { alert_rule_test?: AlertTestCase[] }[] }
    ).tests;
    const fired = new Set(
      tests.flatMap((test) => test.alert_rule_test ?? []).filter((c) => (c.exp_alerts ?? []).length > 0),
    );
    const names = new Set([...fired].map((c) => c.alertname));
    expect(rules.map((rule) => rule.alert).filter((alert) => !names.has(alert))).to.deep.equal([]);
  });

  it("should chart only PromQL that promtool parses, Grafana's interval variables set", async () => {
    const exprs = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    const records = exprs.map((expr, i) => ({
      record: `teller_dashboard:query_${i}`,
      expr: expr.replaceAll("$__rate_interval", "5m").replaceAll("$__range", "1h"),
    }));
    const dir = mkdtempSync(join(tmpdir(), "teller-dashboard-"));
    try {
      const file = join(dir, "dashboard-queries.yaml");
      writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules: records }] }));
      const result = await promtool(["check", "rules", file]);
      expect(result.code, result.output).to.equal(0);
      expect(result.output).to.include(`${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("should chart every alerted metric on a dashboard that picks its Prometheus data source", () => {
    expect(dashboard.schemaVersion).to.be.within(36, 41);
    const variable = dashboard.templating.list.find((v) => v.type === "datasource");
    expect(variable).to.include({ name: "datasource", query: "prometheus" });
    for (const panel of queryPanels) {
      expect(panel.datasource).to.deep.equal({ type: "prometheus", uid: `\${datasource}` });
    }
    const charted = new Set(
      queryPanels.flatMap((panel) => (panel.targets ?? []).flatMap((t) => metricNames(t.expr))),
    );
    const alerted = new Set(rules.flatMap((rule) => metricNames(rule.expr)));
    expect([...alerted].filter((name) => !charted.has(name))).to.deep.equal([]);
  });
});
