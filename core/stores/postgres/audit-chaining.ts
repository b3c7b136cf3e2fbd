import type { Logger } from "../../../lib/logger.js";
import { logAuditChainFailures, settleAuditChain } from "./audit-chainer.js";
import type { SqlClient } from "./sql-client.js";

/** Collaborators of startAuditChaining. */
export interface AuditChainingDeps {
  /** The root client the stores write through; open until close() resolves. */
  readonly client: SqlClient;
  /** Told about failed flushes, which are retried. */
  readonly logger: Logger;
  /** The safety-net period; 1 s when unset. */
  readonly intervalMs?: number;
}

/** The core's chaining of the audit inbox. */
export interface AuditChaining {
  /** Stops the timer and chains what is left; call before the checkpoints close and the database does. */
  close(): Promise<void>;
}

/**
 * Starts chaining the audit inbox for one core: a flush now, for rows a crash left between a
 * business commit and its flush, then one every `intervalMs` as a safety net behind the flushes
 * after each auditing commit, and one at close. The timer is unref'd, and a failed flush is
 * logged and retried by the next one: the events are safe in the inbox meanwhile.
 */
export async function startAuditChaining(deps: AuditChainingDeps): Promise<AuditChaining> {
  const { client } = deps;
  logAuditChainFailures(client, deps.logger);
  await settleAuditChain(client);
  const timer = setInterval(() => void settleAuditChain(client), deps.intervalMs ?? 1_000);
  timer.unref();
  let closing: Promise<void> | undefined;
  return {
    close: () => {
      clearInterval(timer);
      closing ??= settleAuditChain(client);
      return closing;
    },
  };
}
