import { createCheckpointSigner } from "../lib/audit-checkpoint.js";
import type { Clock } from "../lib/clock.js";
import type { Logger } from "../lib/logger.js";
import type { AuditConfig } from "./audit-config.js";
import { createCheckpointer } from "./domain/audit-checkpoint.js";
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
}

/** The running checkpointer of one core. */
export interface AuditCheckpoints {
  /** Takes a checkpoint now (when the chain grew); failures are logged, never thrown. */
  checkpoint(): Promise<void>;
  /** Stops the timer and takes the shutdown checkpoint; call before the database closes. */
  close(): Promise<void>;
}

/**
 * Starts the core's audit checkpoints (security.md AUD-3): one every AUDIT_CHECKPOINT_INTERVAL
 * and one at shutdown, each only when the chain grew, appended to the file under
 * AUDIT_CHECKPOINT_DIR. Runs are queued one after another, so a slow one never overlaps the next.
 * The timer is unref'd: it never keeps a process alive. A failed checkpoint is logged as an error
 * and the core keeps serving: losing one checkpoint narrows what can be proven, it loses no data.
 */
export function startAuditCheckpoints(deps: AuditCheckpointsDeps): AuditCheckpoints {
  const { config, logger } = deps;
  const file = checkpointFileIn(config.checkpointDir);
  const checkpointer = createCheckpointer({
    chain: createPostgresAuditChainReader(deps.sql),
    log: createFileCheckpointLog({ file }),
    sign: createCheckpointSigner(config.checkpointPrivateJwk),
    clock: deps.clock,
  });
  let queue = Promise.resolve();
  const run = (reason: string): Promise<void> => {
    queue = queue.then(async () => {
      try {
        const written = await checkpointer.checkpoint();
        if (written) logger.info({ seq: written.seq.toString(), file, reason }, "audit checkpoint written");
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
