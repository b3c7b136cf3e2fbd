import { expect } from "chai";
import { auditVerdict } from "../../tools/audit-deps.js";

/** Report shapes as npm 11 prints them with `npm audit --json` (format 2). */
const report = (vulnerabilities: Record<string, { severity: string }>) => {
  const counts = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 };
  for (const { severity } of Object.values(vulnerabilities)) {
    counts[severity as keyof typeof counts]++;
    counts.total++;
  }
  return JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: counts } });
};

describe("auditVerdict", () => {
  it("should fail the build on a high or critical advisory, naming the packages", () => {
    const verdict = auditVerdict(
      report({ koa: { severity: "high" }, pg: { severity: "critical" }, zod: { severity: "low" } }),
    );
    expect(verdict).to.deep.equal({ kind: "vulnerable", findings: ["koa (high)", "pg (critical)"] });
  });

  it("should pass a report with only low and moderate advisories", () => {
    const verdict = auditVerdict(report({ zod: { severity: "moderate" } }));
    expect(verdict.kind).to.equal("clean");
  });

  it("should say the audit was not done when the registry has no audit endpoint", () => {
    // What this machine's registry proxy answers (recorded 2026-11-26).
    const answer = JSON.stringify({
      message: "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
      method: "POST",
      statusCode: 405,
      body: "",
      error: { summary: "", detail: "" },
    });
    expect(auditVerdict(answer)).to.deep.equal({
      kind: "unavailable",
      reason: "the registry's audit endpoint answered 405",
    });
    expect(auditVerdict("").kind).to.equal("unavailable");
    expect(auditVerdict(JSON.stringify({ error: { code: "ENOTFOUND" } }))).to.deep.include({
      reason: "the registry's audit endpoint answered ENOTFOUND",
    });
  });
});
