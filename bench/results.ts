import { existsSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import type { LoadResult } from "./load.js";

/**
 * The report of a benchmark: a table for the console and a section of bench/RESULTS.md. The file
 * is shared by every benchmark; each owns the text between its `<!-- name:start -->` and
 * `<!-- name:end -->` markers and replaces only that, so the others' sections are kept.
 */

/** One measured (target, concurrency) pair. */
export interface ResultRow {
  readonly target: string;
  readonly concurrency: number;
  readonly result: LoadResult;
  /** CPU time of the server process per call sent (warm-up included), in µs; NaN when unknown. */
  readonly serverCpuUs: number;
  /** CPU time of the client process per call sent (warm-up included), in µs. */
  readonly clientCpuUs: number;
  /** This row's calls/s divided by the baseline's at the same concurrency; undefined for the baseline. */
  readonly ratio?: number;
}

/** Where and how the numbers were taken. */
export interface RunInfo {
  readonly date: string;
  readonly machine: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
}

/** Describes this machine and this moment. */
export function runInfo(): RunInfo {
  return {
    date: new Date().toISOString(),
    machine: os.cpus()[0]?.model.trim() ?? "unknown CPU",
    cores: os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

const HEADERS = [
  "target",
  "in flight",
  "calls/s",
  "p50 ms",
  "p99 ms",
  "errors",
  "server CPU µs/call",
  "client CPU µs/call",
];

function cells(row: ResultRow): string[] {
  const { result } = row;
  const errors = [...result.errors].map(([label, n]) => `${label} ${n}`).join(", ");
  return [
    row.target,
    String(row.concurrency),
    result.callsPerSecond.toFixed(0),
    result.p50Ms.toFixed(2),
    result.p99Ms.toFixed(2),
    result.errorCount === 0 ? "0" : `${result.errorCount} (${errors})`,
    Number.isFinite(row.serverCpuUs) ? row.serverCpuUs.toFixed(0) : "n/a",
    row.clientCpuUs.toFixed(0),
    row.ratio === undefined ? "—" : `${row.ratio.toFixed(3)}×`,
  ];
}

/**
 * The rows as a markdown table (which also reads well on a console); `ratioHeader` names the last
 * column, each row's calls/s over its baseline's.
 */
export function markdownTable(rows: readonly ResultRow[], ratioHeader = "core/echo calls/s"): string {
  return renderTable([...HEADERS, ratioHeader], rows.map(cells));
}

/**
 * A markdown table of `body` under `headers` (which also reads well on a console): the first
 * `leftColumns` columns are labels, aligned left; the rest are figures, aligned right.
 */
export function renderTable(
  headers: readonly string[],
  body: readonly (readonly string[])[],
  leftColumns = 2,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] as string).length)));
  const line = (values: readonly string[]) =>
    `| ${values.map((v, i) => (i < leftColumns ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join(" | ")} |`;
  // Alignment row as Biome formats markdown tables: "| :--- |" left, "| ---: |" right.
  const rule = `| ${widths.map((w, i) => (i < leftColumns ? `:${"-".repeat(w - 1)}` : `${"-".repeat(w - 1)}:`)).join(" | ")} |`;
  return [line(headers), rule, ...body.map(line)].join("\n");
}

/** Options of writeResultsSection. */
export interface SectionOptions {
  /** The file to update, created when missing. */
  readonly path: string;
  /** The marker name: the section lies between `<!-- name:start -->` and `<!-- name:end -->`. */
  readonly name: string;
  /** The section's markdown, without the markers. */
  readonly body: string;
}

const FILE_HEADER =
  "# Benchmark results\n\nWritten by `make bench`. Each benchmark replaces only its own section " +
  "(between its start and end markers) and keeps the others.\n";

/** Replaces (or appends) one benchmark's section of the results file, keeping everything else. */
export function writeResultsSection(options: SectionOptions): void {
  const start = `<!-- ${options.name}:start -->`;
  const end = `<!-- ${options.name}:end -->`;
  const section = `${start}\n${options.body.trim()}\n${end}`;
  const previous = existsSync(options.path) ? readFileSync(options.path, "utf8") : FILE_HEADER;
  const from = previous.indexOf(start);
  const to = previous.indexOf(end, from);
  const next =
    from >= 0 && to >= 0
      ? `${previous.slice(0, from)}${section}${previous.slice(to + end.length)}`
      : `${previous.trimEnd()}\n\n${section}\n`;
  writeFileSync(options.path, next);
}
