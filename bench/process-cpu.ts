import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time read from Linux procfs, for the benchmarks' "CPU per request" figures: of one process
 * (a server child), of every process with a given name (redis-server, postgres and its backends),
 * and of the whole machine (to tell a saturated run from a slow one). Off Linux every figure is NaN.
 */

/** USER_HZ is 100 on every Linux architecture Node supports (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time (user + system) of process `pid` so far, in ms: /proc/<pid>/stat fields 14 and 15. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const stat = readStat(pid);
  return stat === undefined ? Number.NaN : stat.cpuMs;
}

/** CPU time so far of every live process whose command name is `name`, by pid, in ms; empty off Linux. */
export function namedProcessesCpuMs(name: string): ReadonlyMap<number, number> {
  const found = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((entry) => /^[0-9]+$/.test(entry));
  } catch {
    // No procfs (macOS): nothing found, and the figures built on it read n/a.
    return found;
  }
  for (const pid of pids) {
    const stat = readStat(Number(pid));
    if (stat?.name === name) found.set(Number(pid), stat.cpuMs);
  }
  return found;
}

/**
 * CPU used between two namedProcessesCpuMs readings, in ms: a process born in between counts
 * whole, one that exited in between is lost (PostgreSQL backends come and go with the pool); NaN
 * when nothing was found.
 */
export function cpuMsBetween(
  before: ReadonlyMap<number, number>,
  after: ReadonlyMap<number, number>,
): number {
  if (after.size === 0) return Number.NaN;
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}

/** Busy and total CPU time of the whole machine (all cores) so far, in ticks, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  try {
    const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1);
    const values = fields.map(Number);
    const total = values.reduce((sum, v) => sum + v, 0);
    // Fields 4 and 5 are idle and iowait; everything else is work.
    const idle = (values[3] ?? 0) + (values[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
}

function readStat(pid: number): { name: string; cpuMs: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { name, cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND };
  } catch {
    // Gone (a process that exited between listing and reading) or no procfs.
    return undefined;
  }
}
