/**
 * The delay before retry number `attempt` (from 1): exponential backoff with full jitter, a
 * uniformly random delay in [0, min(maxMs, baseMs · 2^(attempt−1))). Full jitter spreads the
 * retries of many replies that failed together (a provider outage) instead of sending them back
 * in waves (AWS Architecture Blog, "Exponential Backoff And Jitter"). `random` returns [0, 1) and
 * is injected so tests pin it (STYLE.md §5). The result is a whole number of milliseconds.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity for large attempts; min() then caps it at maxMs.
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
