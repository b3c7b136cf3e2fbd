import { createCheckpointOpener, createCheckpointSigner } from "../lib/audit-checkpoint.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { CoreMetrics } from "../lib/metrics.js";
import type { AuditConfig } from "./audit-config.js";
import { type CheckpointRun, createCheckpointer } from "./domain/audit-checkpoint.js";
import { checkpointFileIn, createFileCheckpointLog } from "./stores/audit-checkpoint-file.js";
import { createPostgresAuditChainReader } from "./stores/postgres/audit-chain-reader.js";
import type { SqlClient } from "./stores/postgres/sql-client.js";

/** Collaborators of startAuditCheckpoints. */
export interface AuditCheckpointsDeps {
  readonly config: AuditConfig;
  /** The audit database; open until close() resolves. */
  readonly sql: SqlClient;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts every verification run by result: what TellerAuditChainBroken alerts on. */
  readonly metrics: Pick<CoreMetrics, "auditChainVerifications">;
  /** Entries read per query while verifying; 1,000 when unset. */
  readonly batchSize?: number;
}

/** The running checkpointer of one core. */
export interface AuditCheckpoints {
  /** Takes a checkpoint now (when the chain grew); failures are logged, never thrown. */
  checkpoint(): Promise<void>;
  /** Stops the timer and takes the shutdown checkpoint; call before the database closes. */
  close(): Promise<void>;
}

/**
 * Starts the core's audit checkpoints (security.md AUD-3): one run every
 * AUDIT_CHECKPOINT_INTERVAL and one at shutdown. Each run first verifies the entries appended
 * since the last good run (the first one resumes from the file's last checkpoint, or walks from
 * genesis), then appends a checkpoint to the file under AUDIT_CHECKPOINT_DIR when the chain
 * verified and grew. A broken chain gets no checkpoint, an error log naming the first broken seq
 * and a `broken` count, on every run until it is dealt with, so the alert fires with nobody
 * calling VerifyAuditChain; every good run counts `ok`, even with nothing new, as it re-checked
 * the last verified entry and shows the verification is alive.
 * Runs are queued one after another, so a slow one never overlaps the next. The timer is
 * unref'd: it never keeps a process alive. A failed run (database down) is logged and counted
 * as no result, and the core keeps serving: a lost checkpoint narrows what can be proven, it
 * loses no data.
 */
export function startAuditCheckpoints(deps: AuditCheckpointsDeps): AuditCheckpoints {
  const { config, logger } = deps;
  const file = checkpointFileIn(config.checkpointDir);
  const checkpointer = createCheckpointer({
    chain: createPostgresAuditChainReader(deps.sql),
    log: createFileCheckpointLog({ file }),
    sign: createCheckpointSigner(config.checkpointPrivateJwk),
    open: createCheckpointOpener(config.checkpointPublicJwk),
    clock: deps.clock,
    ...(deps.batchSize === undefined ? {} : { batchSize: deps.batchSize }),
  });
  const report = ({ verification: found, written }: CheckpointRun, reason: string): void => {
    deps.metrics.auditChainVerifications.inc({ result: found.ok ? "ok" : "broken" });
    const from = found.from.seq.toString();
    if (!found.ok) {
      // Seqs only: the entries' attributes stay in the database (security.md LOG-1).
      const firstBrokenSeq = found.firstBrokenSeq.toString();
      logger.error(
        { firstBrokenSeq, verifiedUpTo: from, file, reason },
        "audit chain broken: no checkpoint written",
      );
      return;
    }
    logger.debug({ from, head: found.head.seq.toString(), reason }, "audit chain verified");
    if (written) logger.info({ seq: written.seq.toString(), file, reason }, "audit checkpoint written");
  };
  let queue = Promise.resolve();
  const run = (reason: string): Promise<void> => {
    queue = queue.then(async () => {
      try {
        report(await checkpointer.checkpoint(), reason);
      } catch (err) {
        logger.error({ err, file, reason }, "audit checkpoint failed");
      }
    });
    return queue;
  };
  const timer = setInterval(() => void run("interval"), config.checkpointIntervalMs);
  timer.unref();
  let closing: Promise<void> | undefined;
  return {
    checkpoint: () => run("requested"),
    close: () => {
      clearInterval(timer);
      closing ??= run("shutdown");
      return closing;
    },
  };
}
