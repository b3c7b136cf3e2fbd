import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { renderTable } from "./results.js";

/**
 * Reads the V8 CPU profiles that BENCH_CPU_PROF=<dir> makes the bench servers write
 * (bench/child-server.ts) and summarises where a process spent its time: self time by function
 * and by area (a package, Node's internals, a folder of ours, the garbage collector). Also runs
 * alone: `node --import tsx bench/cpu-profile.ts <profile.cpuprofile>`.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time in ms by function and by area, and the total busy (non-idle) time. */
export interface ProfileSummary {
  readonly busyMs: number;
  readonly byFunction: ReadonlyMap<string, number>;
  readonly byArea: ReadonlyMap<string, number>;
}

/** The profile in `dir` written by process `pid` (V8 names it CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile). */
export function profileOf(dir: string, pid: number): string | undefined {
  const name = readdirSync(dir).find(
    (file) => file.endsWith(".cpuprofile") && file.split(".")[3] === String(pid),
  );
  return name === undefined ? undefined : join(dir, name);
}

/** Sums each sample's time delta onto the function it landed in. */
export function summariseProfile(path: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let busyMs = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (frame === undefined || frame.functionName === "(idle)") return;
    busyMs += ms;
    const fn = `${frame.functionName || "(anonymous)"} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ""}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + ms);
    const area = areaOf(frame.url, frame.functionName);
    byArea.set(area, (byArea.get(area) ?? 0) + ms);
  });
  return { busyMs, byFunction, byArea };
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) return url.slice(modules + "node_modules/".length);
  const ours = url.match(/\/(bench|core|gateways|lib|gen|test)\/.*$/);
  return ours ? ours[0].slice(1) : url.replace(/^file:\/\//, "");
}

function areaOf(url: string, functionName: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node internals";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const parts = url.slice(modules + "node_modules/".length).split("/");
    return parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url);
  }
  const ours = url.match(/\/(bench|core|gateways|lib|gen|test)\//);
  return ours ? `${ours[1]}/` : url;
}

/** The top `n` functions and areas of a summary as two markdown tables. */
export function profileTables(summary: ProfileSummary, n = 15): string {
  const top = (map: ReadonlyMap<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, ms]) => [name, ms.toFixed(0), `${((ms / summary.busyMs) * 100).toFixed(1)} %`]);
  return [
    `busy ${summary.busyMs.toFixed(0)} ms`,
    renderTable(["area", "self ms", "of busy"], top(summary.byArea), 1),
    renderTable(["function", "self ms", "of busy"], top(summary.byFunction), 1),
  ].join("\n\n");
}

if (process.argv[1]?.endsWith("cpu-profile.ts")) {
  for (const path of process.argv.slice(2))
    console.log(`### ${path}\n\n${profileTables(summariseProfile(path), 25)}\n`);
}
