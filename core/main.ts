import { join } from "node:path";
import type { ReadyReport } from "../lib/admin-server.js";
import type { Clock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import type { Logger } from "../lib/logger.js";
import { type CoreMetrics, createMetrics } from "../lib/metrics.js";
import { createLimiter, type Limiter, resetLimit } from "../lib/rate-limit.js";
import { createRedisClient, type RedisClient } from "../lib/redis.js";
import { createServiceTokenVerifier } from "../lib/service-token.js";
import { newTotpSecret } from "../lib/totp.js";
import { startAuditCheckpoints } from "./audit-checkpoints.js";
import type { CoreConfig } from "./config.js";
import { createDialogStores, type DialogStores } from "./dialog-stores.js";
import type { AuditLog } from "./domain/audit.js";
import { createConversations } from "./domain/conversation.js";
import type { TranscriptStore } from "./domain/conversation-ports.js";
import { createErasure, type Erasure } from "./domain/erasure.js";
import type { LedgerStore } from "./domain/ledger.js";
import { createTotpEnrolment } from "./domain/totp.js";
import { meterAuditChain, meterRateGate, meterSessions, meterTransfers } from "./metered.js";
import { createAuditRoutes } from "./rpc/audit-rpc.js";
import { createBankingRoutes } from "./rpc/banking-rpc.js";
import { createConversationRoutes } from "./rpc/conversation-rpc.js";
import { createCustomerRoutes } from "./rpc/customer-rpc.js";
import type { RpcInvoker } from "./rpc/invoker.js";
import { createInvoker } from "./rpc/pipeline.js";
import { createSessionRoutes } from "./rpc/session-rpc.js";
import { createStepUpRoutes } from "./rpc/step-up-rpc.js";
import { createStateStores, type StateStores } from "./state-stores.js";
import { createPaymentsService, createStepUpService } from "./step-up-service.js";
import type { DevOutbox } from "./stores/otp/dev-outbox-sender.js";
import { startAuditChaining } from "./stores/postgres/audit-chaining.js";
import { createPostgresAuditLog } from "./stores/postgres/audit-log.js";
import { createPostgresLedgerStore } from "./stores/postgres/ledger-store.js";
import { migrate } from "./stores/postgres/migrate.js";
import { createPgClient } from "./stores/postgres/pg-client.js";
import { createPgliteClient } from "./stores/postgres/pglite-client.js";
import type { SqlClient } from "./stores/postgres/sql-client.js";
import { createPostgresTotpStore } from "./stores/postgres/totp-store.js";
import { createRateGate } from "./stores/rate-gate.js";

/** Collaborators of the core; tests pass their own Redis connection, key prefix and SQL client. */
export interface CoreDeps {
  readonly config: CoreConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A Redis connection owned by the caller; otherwise one is opened from config.redisUrl. */
  readonly redis?: RedisClient;
  /** First part of every Redis key; default "teller". */
  readonly keyPrefix?: string;
  /** A SQL client owned by the caller; otherwise PGlite under DATA_DIR or DATABASE_URL. */
  readonly sql?: SqlClient;
  /** The process's metrics; created here when absent. */
  readonly metrics?: CoreMetrics;
  /** Where the development SMS outbox also writes its texts, for `teller chat`. */
  readonly devSmsFile?: string;
}

/** The running core: the pipeline both servers mount, a readiness probe, and close(). */
export interface Core {
  readonly invoker: RpcInvoker;
  readonly ledger: LedgerStore;
  /** The audit trail on the same database as the ledger, whose changes append to it. */
  readonly audit: AuditLog;
  /** Conversation transcripts, sealed at rest and kept for TRANSCRIPT_RETENTION. */
  readonly transcripts: TranscriptStore;
  readonly metrics: CoreMetrics;
  /** The development SMS outbox, when codes are not sent through Twilio (never in production). */
  readonly devOutbox?: DevOutbox;
  /** True when every dependency answers (grpc.health.v1). */
  ready(): Promise<boolean>;
  /** Each dependency's state, for /readyz. */
  readiness(): Promise<ReadyReport>;
  close(): Promise<void>;
}

/** How long a handled message id is remembered: 24 h, as Stripe keeps idempotency keys (ID-3). */
const DEDUPE_TTL_MS = 24 * 3_600_000;

/**
 * The composition root of the core (STYLE.md §5): builds stores, limiters, use cases and the rpc
 * pipeline from config, and hands each its collaborators. It never listens; bin/ does.
 */
export async function createCore(deps: CoreDeps): Promise<Core> {
  const { config, clock, logger } = deps;
  const redis = deps.redis ?? createRedisClient(config);
  if (!redis)
    logger.warn("REDIS_URL is unset: sessions, limits and locks live in this process (single instance only)");
  const sql = deps.sql ?? openSql(config);
  await migrate(sql);
  // Chains the audit inbox: now (rows a crash left unchained), after each auditing commit, every second.
  const chaining = await startAuditChaining({ client: sql, logger });
  const ledger = createPostgresLedgerStore({ client: sql, clock, ids: newId });
  const metrics = deps.metrics ?? createMetrics("core", { logger });
  const audit = meterAuditChain(createPostgresAuditLog({ client: sql, clock }), metrics);
  const prefix = deps.keyPrefix ?? config.redisKeyPrefix;
  const stores = createStateStores({ config, clock, logger, redis, prefix });
  const state = { ...stores, sessions: meterSessions(stores.sessions, metrics) };
  const perSubject = config.ratePerSubject;
  const limiter = createLimiter({
    redis,
    keyPrefix: `${prefix}:rl:message`,
    points: perSubject.points,
    durationSeconds: Math.ceil(perSubject.durationMs / 1000),
  });
  const rateGate = meterRateGate(createRateGate(limiter), metrics, "subject");
  const totp = createPostgresTotpStore({ client: sql, clock, keyring: config.data.encryption });
  const moneyParts = { config, clock, redis, prefix, ledger };
  const { stepUp, devOutbox } = createStepUpService({
    ...moneyParts,
    audit,
    totp,
    metrics,
    devSmsFile: deps.devSmsFile,
  });
  const payments = createPaymentsService({ ...moneyParts, ledger: meterTransfers(ledger, metrics) });
  const dialog = createDialogStores({ config, clock, redis, prefix, sql });
  const conversations = createConversations({
    userIdSalt: config.userIdSalt,
    ...state,
    ...dialog,
    rateGate,
    ledger,
    stepUp,
    payments,
    ids: newId,
    now: () => clock.now(),
    dedupeTtlMs: DEDUPE_TTL_MS,
  });
  const invoker = createInvoker({
    services: [
      createSessionRoutes({ sessions: state.sessions, userIdSalt: config.userIdSalt }),
      createConversationRoutes({ conversations, maxTextChars: config.maxTextChars }),
      createBankingRoutes({ ledger, payments }),
      createCustomerRoutes({
        ledger,
        erasure: createErasureService(config, state, audit, limiter, dialog),
        totp: createTotpEnrolment({
          authenticators: totp,
          customers: (customerId) => ledger.getCustomer(customerId),
          newSecret: newTotpSecret,
        }),
      }),
      createAuditRoutes({ audit }),
      createStepUpRoutes({ stepUp }),
    ],
    verify: createServiceTokenVerifier(config.verificationKeys, clock),
    logger,
    callTimeoutMs: config.callTimeoutMs,
    observe: (route, status, seconds) => {
      metrics.requests.inc({ route, status });
      metrics.requestDuration.observe({ route }, seconds);
    },
  });
  // Signed checkpoints of the audit chain, kept outside the database (security.md AUD-3).
  const checkpoints = startAuditCheckpoints({ config: config.audit, sql, clock, logger, metrics });
  const readiness = async (): Promise<ReadyReport> => ({
    database: await ledger.ping(),
    redis: !redis || redis.status === "ready",
  });
  return {
    invoker,
    ledger,
    audit,
    transcripts: state.transcripts,
    metrics,
    devOutbox,
    ready: async () => Object.values(await readiness()).every(Boolean),
    readiness,
    close: async () => {
      await chaining.close();
      await checkpoints.close();
      await state.sessions.close();
      if (!deps.sql) await sql.close();
      if (redis && !deps.redis) await redis.quit();
    },
  };
}

/**
 * Opens the configured database: a PostgreSQL server at DATABASE_URL, else PGlite under DATA_DIR.
 * Exported so `teller audit verify` reads exactly the database the core writes.
 */
export function openSql(config: Pick<CoreConfig, "databaseUrl" | "dataDir">): SqlClient {
  if (config.databaseUrl) return createPgClient({ connectionString: config.databaseUrl });
  return createPgliteClient({ dataDir: join(config.dataDir, "pglite") });
}

/**
 * Builds EraseSubject over every part of a subject's data this core keeps (DESIGN.md, Banking).
 * A new store of subject data (channel links, pending operations) adds its part here.
 */
function createErasureService(
  config: CoreConfig,
  state: StateStores,
  audit: AuditLog,
  messageLimiter: Limiter,
  dialog: DialogStores,
): Erasure {
  return createErasure({
    userIdSalt: config.userIdSalt,
    audit,
    lock: state.lock,
    parts: [
      { name: "sessions", erase: (subjectId) => state.sessions.eraseSubject(subjectId) },
      { name: "transcripts", erase: (subjectId) => state.transcripts.erase(subjectId) },
      { name: "message-log", erase: (subjectId) => state.messages.erase(subjectId) },
      // The per-subject message limit is keyed by the subject id too.
      { name: "rate-limits", erase: (subjectId) => resetLimit(messageLimiter, subjectId) },
      { name: "pending-operation", erase: (subjectId) => dialog.pending.delete(subjectId) },
      // The audit trail keeps its pseudonymous "channel.linked" entry; unlink adds "channel.unlinked".
      { name: "channel-link", erase: async (subjectId) => void (await dialog.links.unlink(subjectId)) },
    ],
  });
}
