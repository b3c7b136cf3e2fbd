import { readFileSync } from "node:fs";

/** The environment as a plain map; roots pass `process.env`, tests pass literals. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads a variable, or the file named by its `*_FILE` variant (Docker and Kubernetes secrets),
 * trimming one trailing newline. Setting both is an error: which one wins would be a guess.
 * Problems are pushed onto `problems` rather than thrown, so a config loader reports them all.
 */
export function readVar(env: Env, name: string, problems: string[]): string | undefined {
  const direct = env[name];
  const file = env[`${name}_FILE`];
  if (direct !== undefined && direct !== "" && file) {
    problems.push(`${name} and ${name}_FILE are both set; set only one`);
    return undefined;
  }
  if (file) {
    try {
      return readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      return undefined;
    }
  }
  return direct === "" ? undefined : direct;
}

/** Reads a positive integer variable with a default; a malformed value is a problem. */
export function readInt(env: Env, name: string, fallback: number, problems: string[], min = 1): number {
  const raw = readVar(env, name, problems);
  if (raw === undefined) return fallback;
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < min) {
    problems.push(`${name} must be an integer ≥ ${min}, got "${raw}"`);
    return fallback;
  }
  return Number(raw);
}

/** Reads a TCP port (0..65535; 0 picks a free port, for tests). */
export function readPort(env: Env, name: string, fallback: number, problems: string[]): number {
  const port = readInt(env, name, fallback, problems, 0);
  if (port > 65535) problems.push(`${name} must be a port 0..65535, got ${port}`);
  return port;
}

/** ConfigError carries every problem found, one per line, so an operator fixes them in one go. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/**
 * Reads REDIS_KEY_PREFIX (default "teller"): the first part of every Redis key, so several
 * deployments, or test runs, can share one Redis without touching each other's keys.
 */
export function readKeyPrefix(env: Env, problems: string[]): string {
  const prefix = readVar(env, "REDIS_KEY_PREFIX", problems) ?? "teller";
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(prefix)) {
    problems.push("REDIS_KEY_PREFIX must be 1..32 letters, digits, '_' or '-'");
  }
  return prefix;
}
