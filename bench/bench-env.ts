/**
 * Reads a positive number of seconds from the environment (BENCH_SECONDS, BENCH_WARMUP_SECONDS),
 * `fallback` when unset or empty; anything else that is not a positive number is an error.
 */
export function readSeconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number of seconds, got "${raw}"`);
  return value;
}
