import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CoreConfig, loadCoreConfig } from "../core/config.js";
import type { Env } from "../lib/env.js";
import type { Logger } from "../lib/logger.js";
import { createTestSchemaClient, type TestSchemaClient } from "../test/support/postgres.js";
import { createTestRedis, type TestRedis } from "../test/support/redis.js";
import { createBenchLogger } from "./bench-logger.js";

/**
 * The skeleton every benchmark's core child process shares (bench/core-server.ts,
 * bench/transfer-core-server.ts): the config of a throwaway core, a logger, and undo steps that
 * all run on the way out, even after a failure, so a broken run still leaves no Redis keys, no
 * schema and no checkpoint files in the repository.
 */

/** What a benchmark core's body receives. */
export interface BenchCoreContext {
  readonly config: CoreConfig;
  readonly logger: Logger;
  /** Undo steps, newest first: unshift each one as its resource opens. */
  readonly cleanups: Array<() => Promise<void>>;
}

/**
 * Loads the core's config from `env` on top of the benchmark defaults (a random salt, the parent's
 * BENCH_JWKS, a temporary checkpoint folder), runs `serve`, then every cleanup; throws the
 * failures together, naming `name`.
 */
export async function runBenchCore(
  name: string,
  env: Env,
  serve: (context: BenchCoreContext) => Promise<void>,
): Promise<void> {
  const config = loadCoreConfig({
    USER_ID_SALT: randomBytes(24).toString("hex"),
    JWKS: process.env.BENCH_JWKS,
    // A benchmark must not leave checkpoint files in the repository's ./data.
    AUDIT_CHECKPOINT_DIR: mkdtempSync(join(tmpdir(), "teller-bench-checkpoints-")),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    ...env,
  });
  const logger = createBenchLogger("core", config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const failure = await serve({ config, logger, cleanups }).then(
    () => undefined,
    (err: unknown) => err,
  );
  const failures: unknown[] = failure === undefined ? [] : [failure];
  for (const cleanup of cleanups) await cleanup().catch((err: unknown) => failures.push(err));
  logger.flush();
  if (failures.length > 0) throw new AggregateError(failures, `${name} failed`);
}

/** A Redis key prefix and a PostgreSQL schema of the run's own, each removed by a cleanup. */
export async function openBenchState(
  cleanups: BenchCoreContext["cleanups"],
): Promise<{ redis: TestRedis; schema: TestSchemaClient }> {
  const redis = await createTestRedis();
  cleanups.unshift(() => redis.cleanup());
  const schema = await createTestSchemaClient();
  cleanups.unshift(() => schema.drop());
  return { redis, schema };
}
