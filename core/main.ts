import { join } from "node:path";
import type { Redis } from "ioredis";
import type { ReadyReport } from "../lib/admin-server.js";
import type { Clock } from "../lib/clock.js";
import { newId } from "../lib/ids.js";
import type { Logger } from "../lib/logger.js";
import { type CoreMetrics, createMetrics } from "../lib/metrics.js";
import { createLimiter, type Limiter, resetLimit } from "../lib/rate-limit.js";
import { createRedis } from "../lib/redis.js";
import { createServiceTokenVerifier } from "../lib/service-token.js";
import { mintStepUpToken, STEP_UP_ACR, STEP_UP_MAX_TTL_SECONDS } from "../lib/step-up-token.js";
import { newTotpSecret } from "../lib/totp.js";
import type { CoreConfig } from "./config.js";
import { createDialogStores, type DialogStores } from "./dialog-stores.js";
import type { AuditLog } from "./domain/audit.js";
import { createConversations } from "./domain/conversation.js";
import type { ConversationLock, MessageLog, TranscriptStore } from "./domain/conversation-ports.js";
import { createErasure, type Erasure } from "./domain/erasure.js";
import type { LedgerStore } from "./domain/ledger.js";
import { createPayments, type Payments } from "./domain/payments.js";
import type { SessionStore } from "./domain/session.js";
import { createStepUp, type StepUp } from "./domain/step-up.js";
import type { OtpSender } from "./domain/step-up-ports.js";
import { createTotpEnrolment, type TotpAuthenticators } from "./domain/totp.js";
import { meterRateGate, meterSessions } from "./metered.js";
import { createAuditRoutes } from "./rpc/audit-rpc.js";
import { createBankingRoutes } from "./rpc/banking-rpc.js";
import { createConversationRoutes } from "./rpc/conversation-rpc.js";
import { createCustomerRoutes } from "./rpc/customer-rpc.js";
import type { RpcInvoker } from "./rpc/invoker.js";
import { createInvoker } from "./rpc/pipeline.js";
import { createSessionRoutes } from "./rpc/session-rpc.js";
import { createStepUpRoutes } from "./rpc/step-up-rpc.js";
import { createStepUpCheck } from "./step-up-check.js";
import { createMemoryChallengeStore } from "./stores/memory/challenge-store.js";
import { createMemoryConversationLock } from "./stores/memory/conversation-lock.js";
import { createMemoryMessageLog } from "./stores/memory/message-log.js";
import { createMemorySessionStore } from "./stores/memory/session-store.js";
import { createMemoryTranscriptStore } from "./stores/memory/transcript-store.js";
import { createDevOutboxSender, type DevOutbox } from "./stores/otp/dev-outbox-sender.js";
import { createTwilioSender } from "./stores/otp/twilio-sender.js";
import { createPostgresAuditLog } from "./stores/postgres/audit-log.js";
import { createPostgresLedgerStore } from "./stores/postgres/ledger-store.js";
import { migrate } from "./stores/postgres/migrate.js";
import { createPgClient } from "./stores/postgres/pg-client.js";
import { createPgliteClient } from "./stores/postgres/pglite-client.js";
import type { SqlClient } from "./stores/postgres/sql-client.js";
import { createPostgresTotpStore } from "./stores/postgres/totp-store.js";
import { createRateGate } from "./stores/rate-gate.js";
import { createRedisChallengeStore } from "./stores/redis/challenge-store.js";
import { createRedisConversationLock } from "./stores/redis/conversation-lock.js";
import { createRedisMessageLog } from "./stores/redis/message-log.js";
import { createRedisSessionStore } from "./stores/redis/session-store.js";
import { createRedisTranscriptStore } from "./stores/redis/transcript-store.js";
import { createStepUpLimiter } from "./stores/step-up-limiter.js";
import { createMemoryUsedStepUps, createRedisUsedStepUps } from "./stores/used-step-ups.js";

/** Collaborators of the core; tests pass their own Redis connection, key prefix and SQL client. */
export interface CoreDeps {
  readonly config: CoreConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A Redis connection owned by the caller; otherwise one is opened from config.redisUrl. */
  readonly redis?: Redis;
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
  const redis = deps.redis ?? (config.redisUrl ? createRedis(config.redisUrl) : undefined);
  if (!redis)
    logger.warn("REDIS_URL is unset: sessions, limits and locks live in this process (single instance only)");
  const sql = deps.sql ?? openSql(config);
  await migrate(sql);
  const ledger = createPostgresLedgerStore({ client: sql, clock, ids: newId });
  const audit = createPostgresAuditLog({ client: sql, clock });
  const metrics = deps.metrics ?? createMetrics("core", { logger });
  const stores = createStateStores(deps, redis);
  const state = { ...stores, sessions: meterSessions(stores.sessions, metrics) };
  const perSubject = config.ratePerSubject;
  const limiter = createLimiter({
    redis,
    keyPrefix: `${deps.keyPrefix ?? deps.config.redisKeyPrefix}:rl:message`,
    points: perSubject.points,
    durationSeconds: Math.ceil(perSubject.durationMs / 1000),
  });
  const rateGate = meterRateGate(createRateGate(limiter), metrics, "subject");
  const totp = createPostgresTotpStore({ client: sql, clock, keyring: config.data.encryption });
  const { stepUp, devOutbox } = createStepUpService(deps, redis, ledger, { audit, totp });
  const payments = createPaymentsService(deps, redis, ledger);
  const dialog = createDialogStores({
    config,
    clock,
    redis,
    prefix: deps.keyPrefix ?? config.redisKeyPrefix,
    sql,
  });
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

/** The per-subject state of conversations, in Redis when configured, else in this process. */
interface StateStores {
  sessions: SessionStore;
  messages: MessageLog;
  lock: ConversationLock;
  transcripts: TranscriptStore;
}

function createStateStores(deps: CoreDeps, redis: Redis | undefined): StateStores {
  const { clock, config, logger } = deps;
  const sessionOptions = { clock, ids: newId, ttlMs: config.sessionTtlMs, maxSessions: config.maxSessions };
  const keyring = config.data.encryption;
  const transcriptOptions = { keyring, clock, retentionMs: config.data.transcriptRetentionMs, logger };
  if (!redis) {
    return {
      sessions: createMemorySessionStore(sessionOptions),
      messages: createMemoryMessageLog({ clock }),
      lock: createMemoryConversationLock({}),
      transcripts: createMemoryTranscriptStore(transcriptOptions),
    };
  }
  const prefix = deps.keyPrefix ?? deps.config.redisKeyPrefix;
  return {
    sessions: createRedisSessionStore({ ...sessionOptions, redis, prefix }),
    messages: createRedisMessageLog({ redis, prefix, keyring }),
    lock: createRedisConversationLock({ redis, prefix }),
    transcripts: createRedisTranscriptStore({ ...transcriptOptions, redis, prefix }),
  };
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

/** Builds the money-movement use cases: step-up checked with the core's key, each token used once. */
function createPaymentsService(deps: CoreDeps, redis: Redis | undefined, ledger: LedgerStore): Payments {
  const { config, clock } = deps;
  const prefix = deps.keyPrefix ?? config.redisKeyPrefix;
  return createPayments({
    ledger,
    checkStepUp: createStepUpCheck(config.stepUp.publicJwk, clock),
    usedStepUps: redis ? createRedisUsedStepUps({ redis, prefix }) : createMemoryUsedStepUps({ clock }),
    now: () => clock.now(),
    rules: config.transferRules,
  });
}

/**
 * Builds the step-up use cases: challenges in Redis (or memory), the per-customer lockout
 * (`teller:rl:stepup`, blocked for the window once spent: security.md RL-8), tokens signed with
 * the core's own step-up key, and codes sent through Twilio when configured, else into the
 * development outbox, which production refuses. Customers with an authenticator app get TOTP
 * challenges instead, and every step is appended to the audit trail.
 */
function createStepUpService(
  deps: CoreDeps,
  redis: Redis | undefined,
  ledger: LedgerStore,
  trail: { audit: AuditLog; totp: TotpAuthenticators },
): { stepUp: StepUp; devOutbox?: DevOutbox } {
  const { config, clock } = deps;
  const prefix = deps.keyPrefix ?? deps.config.redisKeyPrefix;
  const lockout = config.stepUp.lockout;
  const windowSeconds = Math.ceil(lockout.durationMs / 1000);
  const limiter = createLimiter({
    redis,
    keyPrefix: `${prefix}:rl:stepup`,
    points: lockout.points,
    durationSeconds: windowSeconds,
    blockDurationSeconds: windowSeconds,
  });
  const devOutbox = config.twilio
    ? undefined
    : createDevOutboxSender({ redis, prefix, clock, file: deps.devSmsFile });
  if (devOutbox && config.production) throw new Error("the development SMS outbox is refused in production");
  const sender: OtpSender = config.twilio ? createTwilioSender(config.twilio) : (devOutbox as DevOutbox);
  const stepUp = createStepUp({
    challenges: redis ? createRedisChallengeStore({ redis, prefix }) : createMemoryChallengeStore({ clock }),
    sender,
    customers: (customerId) => ledger.getCustomer(customerId),
    totp: trail.totp,
    audit: trail.audit,
    limiter: createStepUpLimiter(limiter),
    otpKey: config.stepUp.otpKey,
    clock,
    ids: newId,
    mintToken: async (grant) => {
      const token = await mintStepUpToken({
        privateJwk: config.stepUp.privateJwk,
        customerId: grant.customerId,
        purpose: grant.purpose,
        bindingHash: grant.bindingHash,
        acr: STEP_UP_ACR,
        amr: grant.method === "totp" ? ["otp", "totp"] : ["otp", "sms"],
        authTime: grant.authTime,
        ttlSeconds: STEP_UP_MAX_TTL_SECONDS,
        sessionId: grant.challengeId,
        clock,
      });
      return { token, expiresAtMs: (Math.floor(clock.now() / 1000) + STEP_UP_MAX_TTL_SECONDS) * 1000 };
    },
  });
  return { stepUp, devOutbox };
}
