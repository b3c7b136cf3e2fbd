import type { ChildServer } from "./child-server.js";
import { type LoadOptions, type LoadResult, runClosedLoop } from "./load.js";
import { type BenchPayer, type BenchRpc, mintTransferTokens } from "./transfer-customers.js";
import { drainPool, TokenPool, type TransferTally, transferCall } from "./transfer-load.js";

/**
 * The Teller rows of the transfers benchmark: a warm-up that also estimates the rate, then per
 * row a pool of step-up tokens minted ahead (untimed, as the customer's OTP step) and a closed
 * loop of CreateTransfer calls that each spend one. Tokens live 5 minutes, so a pool is minted
 * right before its row and sized from the rate seen so far; a row whose pool ran dry is run again.
 */

/** A step-up token lives 5 minutes; a row must end well before its oldest token does. */
const TOKEN_LIFE_MS = 300_000 - 15_000;
/** Tokens minted beyond the estimate of a row's use, so the pool rarely runs dry. */
const TOKEN_HEADROOM = 1.75;

/** What the Teller rows share: the clients, the customers, the count of accepted transfers. */
export interface TransferBench {
  readonly rpc: BenchRpc;
  readonly payers: readonly BenchPayer[];
  readonly tally: TransferTally;
  readonly runId: string;
  tokensMinted: number;
}

/** Sends a first batch untimed: JIT and pools warm, and an estimate of the rate for the token pools. */
export async function warmUp(bench: TransferBench, concurrency: number): Promise<number> {
  const pool = await mint(bench, concurrency * 10);
  return drainPool(transferCall(bench.rpc, pool, `${bench.runId}.warm`, bench.tally), pool, concurrency);
}

/**
 * One Teller row: mints enough tokens for the row at `rate` (plus headroom), runs it, and runs it
 * again with more tokens when the pool ran dry before the row's end.
 */
export async function measureTeller(
  bench: TransferBench,
  core: ChildServer,
  load: LoadOptions,
  rate: number,
): Promise<{ result: LoadResult; coreCpuUs: number }> {
  let estimate = rate;
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const windowSeconds = (load.warmupMs + load.durationMs) / 1000;
    const pool = await mint(
      bench,
      Math.ceil(estimate * windowSeconds * TOKEN_HEADROOM) + 2 * load.concurrency,
    );
    if (Date.now() + load.warmupMs + load.durationMs - pool.oldestMintedAtMs > TOKEN_LIFE_MS)
      throw new Error("minting took so long that the first tokens would expire during the row");
    const keyPrefix = `${bench.runId}.${load.concurrency}.${attempt}`;
    const cpuBefore = core.cpuMs();
    const result = await runClosedLoop(transferCall(bench.rpc, pool, keyPrefix, bench.tally), load);
    if (!pool.ranOut) return { result, coreCpuUs: ((core.cpuMs() - cpuBefore) * 1000) / result.sent };
    console.log(`  the tokens ran out at ${result.callsPerSecond.toFixed(0)}/s: minting more, row again`);
    estimate = Math.max(estimate, result.callsPerSecond) * 2;
  }
  throw new Error(`the token pool ran dry three times at ${load.concurrency} in flight`);
}

async function mint(bench: TransferBench, count: number): Promise<TokenPool> {
  const started = performance.now();
  const tokens = await mintTransferTokens(bench.rpc, bench.payers, count);
  bench.tokensMinted += tokens.length;
  const perSecond = tokens.length / ((performance.now() - started) / 1000);
  console.log(`  minted ${tokens.length} step-up tokens (${perSecond.toFixed(0)}/s)`);
  return new TokenPool(tokens);
}
