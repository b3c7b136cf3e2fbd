import { performance } from "node:perf_hooks";

/**
 * A closed-loop load driver: `concurrency` workers each send one call, wait for its answer and
 * send the next, so exactly that many calls are in flight, as a gateway's channel with that many
 * concurrent webhooks would have. Calls started during the warm-up are not recorded.
 */

/** One call: resolves with undefined on success or with a short error label (e.g. a gRPC status name). */
export type BenchCall = (seq: number) => Promise<string | undefined>;

/** Settings of one closed-loop run. */
export interface LoadOptions {
  /** Calls in flight at all times. */
  readonly concurrency: number;
  /** Time spent loading before anything is recorded, in milliseconds. */
  readonly warmupMs: number;
  /** Time during which started calls are recorded, in milliseconds. */
  readonly durationMs: number;
  /** When set, the run also ends once this many calls have started after the warm-up. */
  readonly maxCalls?: number;
}

/** What one run measured: successful calls per second, latency percentiles and errors by label. */
export interface LoadResult {
  /** Successful calls started in the measured window. */
  readonly calls: number;
  /** Seconds from the window's start to the last recorded answer. */
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Failed calls started in the measured window, by label. */
  readonly errors: ReadonlyMap<string, number>;
  readonly errorCount: number;
  /** Every call sent, warm-up included: the divisor of CPU time per call. */
  readonly sent: number;
}

/** Runs `call` in a closed loop for warm-up plus duration and summarises the recorded calls. */
export async function runClosedLoop(call: BenchCall, options: LoadOptions): Promise<LoadResult> {
  const began = performance.now();
  const measureFrom = began + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  const maxCalls = options.maxCalls ?? Number.POSITIVE_INFINITY;
  let seq = 0;
  let measuredCalls = 0;
  let lastAnswer = measureFrom;
  const worker = async () => {
    for (let start = performance.now(); start < stopAt; start = performance.now()) {
      if (start >= measureFrom && measuredCalls++ >= maxCalls) break;
      const error = await call(seq++);
      const end = performance.now();
      if (start < measureFrom) continue;
      lastAnswer = Math.max(lastAnswer, end);
      if (error === undefined) latencies.push(end - start);
      else errors.set(error, (errors.get(error) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (lastAnswer - measureFrom) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    seconds,
    callsPerSecond: seconds > 0 ? latencies.length / seconds : 0,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
    errorCount: [...errors.values()].reduce((sum, n) => sum + n, 0),
    sent: seq,
  };
}

/**
 * The nearest-rank percentile of ascending `sorted` values (the smallest value with at least p %
 * of the values at or below it); NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}
