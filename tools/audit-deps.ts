import { execFile } from "node:child_process";
import { pathToFileURL } from "node:url";

/**
 * The dependency audit of `make lint` and `make test` (issue 7): `npm audit` of the production
 * dependencies only (what the image ships), failing on a high or critical advisory. Where the
 * registry has no audit endpoint (a mirror or proxy answering 405, or no network) the audit cannot
 * be done: that is said in one line and the build goes on, as the issue asks ("where the registry
 * answers"); a vulnerable dependency is never let through silently.
 */

/** What one `npm audit --json` run means for the build. */
export type AuditVerdict =
  | { readonly kind: "clean"; readonly counts: Readonly<Record<string, number>> }
  | { readonly kind: "vulnerable"; readonly findings: readonly string[] }
  | { readonly kind: "unavailable"; readonly reason: string };

/** Severities that fail the build. */
const FAILING = new Set(["high", "critical"]);

/** Reads npm's audit report (format 2, npm ≥ 7) or its error object. */
export function auditVerdict(json: string): AuditVerdict {
  let report: AuditReport;
  try {
    report = JSON.parse(json) as AuditReport;
  } catch {
    return { kind: "unavailable", reason: "npm audit printed no report" };
  }
  if (report.error) {
    const status = report.error.code ?? report.statusCode ?? "error";
    return { kind: "unavailable", reason: `the registry's audit endpoint answered ${status}` };
  }
  if (!report.vulnerabilities || !report.metadata?.vulnerabilities) {
    return { kind: "unavailable", reason: "npm audit's report has no vulnerabilities section" };
  }
  const findings = Object.entries(report.vulnerabilities)
    .filter(([, v]) => FAILING.has(v.severity))
    .map(([name, v]) => `${name} (${v.severity})`)
    .sort();
  return findings.length > 0
    ? { kind: "vulnerable", findings }
    : { kind: "clean", counts: report.metadata.vulnerabilities };
}

interface AuditReport {
  readonly error?: { readonly code?: string | number; readonly summary?: string };
  readonly statusCode?: number;
  readonly vulnerabilities?: Record<string, { readonly severity: string }>;
  readonly metadata?: { readonly vulnerabilities?: Record<string, number> };
}

function npmAudit(): Promise<string> {
  return new Promise((resolve) => {
    // npm exits non-zero both for findings and for errors; the JSON on stdout tells them apart.
    execFile(
      "npm",
      ["audit", "--omit=dev", "--json"],
      { maxBuffer: 32 << 20, timeout: 60_000 },
      (_err, stdout) => resolve(stdout),
    );
  });
}

async function main(): Promise<void> {
  const verdict = auditVerdict(await npmAudit());
  if (verdict.kind === "vulnerable") {
    console.error(`dependency audit: high or critical advisories in ${verdict.findings.join(", ")}`);
    console.error("run 'npm audit --omit=dev' for details and upgrade before merging");
    process.exit(1);
  }
  if (verdict.kind === "unavailable") {
    console.log(`dependency audit not done: ${verdict.reason}; run 'npm audit --omit=dev' where it answers`);
    return;
  }
  console.log(`dependency audit: no high or critical advisory (${JSON.stringify(verdict.counts)})`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await main();
