/**
 * Parses the duration and rate notation of DESIGN.md ("10s", "15m", "24h", "100/15m") used by
 * every limit variable, so operators write the same shape everywhere.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "250ms", "10s", "15m", "24h" or "7d" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number);
  return ms > 0 ? ms : undefined;
}

/** A rate: `points` per `durationMs`. */
export interface Rate {
  readonly points: number;
  readonly durationMs: number;
}

/** Parses "100/15m" (100 per 15 minutes) or "10/1m"; undefined when malformed or zero. */
export function parseRate(text: string): Rate | undefined {
  const match = /^(\d{1,9})\/(.+)$/.exec(text.trim());
  if (!match) return undefined;
  const points = Number(match[1]);
  const durationMs = parseDuration(match[2] as string);
  if (points < 1 || durationMs === undefined) return undefined;
  return { points, durationMs };
}
