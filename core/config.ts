import type { JSONWebKeySet, JWK } from "jose";
import { parseDuration, parseRate, type Rate } from "../lib/duration.js";
import { ConfigError, type Env, readInt, readKeyPrefix, readPort, readVar } from "../lib/env.js";
import { readRedisSettings } from "../lib/redis-config.js";
import type { VerificationKeys } from "../lib/service-token.js";
import { readServerTls, type ServerTls } from "../lib/tls-config.js";
import { checkPlaintextListener, readTerminatedByProxy } from "../lib/tls-policy.js";
import { type AuditConfig, readAuditConfig } from "./audit-config.js";
import { type DataConfig, readDataConfig } from "./data-config.js";
import type { TransferRules } from "./domain/transfer-rules.js";
import {
  readStepUpConfig,
  readTwilioConfig,
  type StepUpConfig,
  type TwilioConfig,
} from "./step-up-config.js";
import { readTransferRulesConfig } from "./transfer-rules-config.js";

/** The validated, frozen configuration of the core process (DESIGN.md, Running it). */
export interface CoreConfig {
  readonly production: boolean;
  readonly host: string;
  readonly corePort: number;
  readonly connectPort: number;
  readonly adminPort: number;
  /**
   * TLS of CORE_PORT, CONNECT_PORT and ADMIN_PORT (TLS_CERT_FILE, TLS_KEY_FILE), with client
   * certificates required on CORE_PORT when TLS_CLIENT_CA_FILE is set; unset: plain text.
   */
  readonly tls?: ServerTls;
  /** REDIS_URL: one Redis, or with `redisCluster` the comma-separated seed nodes of a cluster. */
  readonly redisUrl?: string;
  /** REDIS_CLUSTER=true: REDIS_URL names a Redis Cluster (default false). */
  readonly redisCluster: boolean;
  /** First part of every Redis key (REDIS_KEY_PREFIX, default "teller"). */
  readonly redisKeyPrefix: string;
  readonly databaseUrl?: string;
  readonly dataDir: string;
  readonly userIdSalt: string;
  readonly verificationKeys: VerificationKeys;
  readonly maxSessions: number;
  readonly sessionTtlMs: number;
  readonly ratePerSubject: Rate;
  readonly maxBodyBytes: number;
  readonly maxTextChars: number;
  /** Deadline applied to calls whose client set none (HTTP_TIMEOUT). */
  readonly callTimeoutMs: number;
  readonly logLevel: string;
  /** One-time codes and step-up tokens (STEP_UP_*, RATE_LIMIT_STEP_UP). */
  readonly stepUp: StepUpConfig;
  /** SMS through Twilio when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are set; else the dev outbox. */
  readonly twilio?: TwilioConfig;
  /** Data at rest: ENCRYPTION_KEYS. */
  readonly data: DataConfig;
  /** Transfer limits and fraud rules (TRANSFER_LIMIT_*, TRANSFER_VELOCITY, PAYEE_COOLING_OFF*, UNUSUAL_AMOUNT_*). */
  readonly transferRules: TransferRules;
  /** Signed checkpoints of the audit chain (AUDIT_CHECKPOINT_*). */
  readonly audit: AuditConfig;
}

/** Secrets that development generates when unset (lib/dev-secrets.ts); absent in production. */
export interface DevDefaults {
  readonly userIdSalt: string;
  readonly publicJwk: JWK;
}

const WEAK_SALTS = /^(changeme|change-me|secret|salt|password|test|dev|example)/i;

/**
 * Loads the core's config from the environment: `*_FILE` variants, documented defaults, every
 * problem collected into one ConfigError. With NODE_ENV=production a missing or weak secret is a
 * problem; otherwise `dev` fills the gaps.
 */
export function loadCoreConfig(env: Env, dev?: DevDefaults): CoreConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === "production";
  const userIdSalt = readSalt(env, production, dev, problems);
  const dataDir = readVar(env, "DATA_DIR", problems) ?? "./data";
  const host = readVar(env, "LISTEN_HOST", problems) ?? (production ? "0.0.0.0" : "127.0.0.1");
  const tls = readServerTls(env, problems, { clientCa: true });
  const terminatedByProxy = readTerminatedByProxy(env, problems);
  checkPlaintextListener({ production, terminatedByProxy, host, tls: tls !== undefined }, problems);
  const config: CoreConfig = {
    production,
    host,
    corePort: readPort(env, "CORE_PORT", 8080, problems),
    connectPort: readPort(env, "CONNECT_PORT", 8081, problems),
    adminPort: readPort(env, "ADMIN_PORT", 9090, problems),
    tls,
    ...readRedisSettings(env, problems),
    redisKeyPrefix: readKeyPrefix(env, problems),
    databaseUrl: readUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"], problems),
    dataDir,
    userIdSalt,
    verificationKeys: readKeys(env, dev, problems),
    maxSessions: readInt(env, "MAX_SESSIONS", 10_000, problems),
    sessionTtlMs: readDurationVar(env, "SESSION_TTL", "24h", problems),
    ratePerSubject: readRateVar(env, "RATE_LIMIT_PER_SUBJECT", "10/1m", problems),
    maxBodyBytes: readInt(env, "MAX_BODY_BYTES", 1_048_576, problems, 1024),
    maxTextChars: readInt(env, "MAX_TEXT_CHARS", 4096, problems),
    callTimeoutMs: readDurationVar(env, "HTTP_TIMEOUT", "10s", problems),
    logLevel: readLogLevel(env, problems),
    stepUp: readStepUpConfig(env, production, userIdSalt, problems),
    twilio: readTwilioConfig(env, production, problems),
    data: readDataConfig(env, production, userIdSalt, problems),
    transferRules: readTransferRulesConfig(env, problems),
    audit: readAuditConfig(env, production, userIdSalt, dataDir, problems),
  };
  if (config.maxTextChars > 4096) problems.push("MAX_TEXT_CHARS must be at most 4096 (channel limits)");
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function readUrl(env: Env, name: string, schemes: string[], problems: string[]): string | undefined {
  const raw = readVar(env, name, problems);
  if (raw === undefined) return undefined;
  try {
    if (schemes.includes(new URL(raw).protocol)) return raw;
  } catch {
    // Fall through to the problem below; the value itself is not echoed (it may hold a password).
  }
  problems.push(`${name} must be a ${schemes.join(" or ")}// URL`);
  return undefined;
}

function readSalt(env: Env, production: boolean, dev: DevDefaults | undefined, problems: string[]): string {
  const salt = readVar(env, "USER_ID_SALT", problems);
  if (salt === undefined) {
    if (!production && dev) return dev.userIdSalt;
    problems.push("USER_ID_SALT is required in production (at least 32 random characters)");
    return "";
  }
  if (salt.length < 32 || WEAK_SALTS.test(salt) || new Set(salt).size < 8) {
    if (production) problems.push("USER_ID_SALT is too weak: use at least 32 random characters");
  }
  return salt;
}

function readKeys(env: Env, dev: DevDefaults | undefined, problems: string[]): VerificationKeys {
  const url = readVar(env, "JWKS_URL", problems);
  const doc = readVar(env, "JWKS", problems);
  if (url && doc) problems.push("set only one of JWKS (or JWKS_FILE) and JWKS_URL");
  if (url) {
    if (env.NODE_ENV === "production" && !url.startsWith("https://"))
      problems.push("JWKS_URL must be https:// in production");
    return { jwksUrl: url };
  }
  if (doc) return { jwks: parseJwks(doc, problems) };
  if (env.NODE_ENV !== "production" && dev) return { jwks: { keys: [dev.publicJwk] } };
  problems.push("JWKS, JWKS_FILE or JWKS_URL is required in production (the public keys of service tokens)");
  return { jwks: { keys: [] } };
}

function parseJwks(doc: string, problems: string[]): JSONWebKeySet {
  try {
    const parsed = JSON.parse(doc) as JSONWebKeySet;
    if (!Array.isArray(parsed.keys) || parsed.keys.length === 0) throw new Error("no keys");
    for (const key of parsed.keys) {
      if (key.alg !== "EdDSA" && key.alg !== "ES256")
        problems.push("JWKS keys must each name alg EdDSA or ES256");
      if ("d" in key) problems.push("JWKS must hold public keys only");
    }
    return parsed;
  } catch {
    problems.push('JWKS must be a JSON Web Key Set: {"keys":[…]}');
    return { keys: [] };
  }
}

function readDurationVar(env: Env, name: string, fallback: string, problems: string[]): number {
  const raw = readVar(env, name, problems) ?? fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) problems.push(`${name} must be a duration such as 10s, 15m or 24h, got "${raw}"`);
  return ms ?? (parseDuration(fallback) as number);
}

function readRateVar(env: Env, name: string, fallback: string, problems: string[]): Rate {
  const raw = readVar(env, name, problems) ?? fallback;
  const rate = parseRate(raw);
  if (rate === undefined) problems.push(`${name} must be a rate such as 10/1m, got "${raw}"`);
  return rate ?? (parseRate(fallback) as Rate);
}

function readLogLevel(env: Env, problems: string[]): string {
  const level = readVar(env, "LOG_LEVEL", problems) ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(level)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  return level;
}
