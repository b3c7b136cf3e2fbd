import type { JWK } from "jose";
import { type DevSecrets, deriveDevSecret } from "../lib/dev-secrets.js";
import { parseDuration, parseRate, type Rate } from "../lib/duration.js";
import { ConfigError, type Env, readInt, readKeyPrefix, readPort, readVar } from "../lib/env.js";
import { readRedisSettings } from "../lib/redis-config.js";
import { type CoreClientTls, readCoreClientTls, readServerTls, type ServerTls } from "../lib/tls-config.js";
import { checkPlaintextCoreCall, checkPlaintextListener, readTerminatedByProxy } from "../lib/tls-policy.js";
import { type MetaMessagingConfig, readMetaMessagingConfig } from "./messenger/config.js";
import { readTelegramConfig, type TelegramConfig } from "./telegram/config.js";
import { readTwilioConfig, type TwilioConfig } from "./twilio/config.js";
import { readWebchatConfig, type WebchatConfig } from "./webchat/config.js";

/** The channels this build can serve; GATEWAYS= picks among them. */
export const KNOWN_GATEWAYS = ["whatsapp", "telegram", "messenger", "instagram", "twilio", "web"] as const;
export type GatewayName = (typeof KNOWN_GATEWAYS)[number];

/** Port of the local Graph API stand-in that `teller chat` runs; the development default base URL. */
export const DEV_GRAPH_PORT = 3999;

/** WhatsApp Cloud API settings (DESIGN.md, Running it). */
export interface WhatsAppConfig {
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly accessToken: string;
  readonly phoneNumberId: string;
  readonly apiBaseUrl: string;
  readonly apiVersion: string;
}

/** The validated, frozen configuration of the gateway process. */
export interface GatewayConfig {
  readonly production: boolean;
  readonly host: string;
  readonly gatewayPort: number;
  readonly adminPort: number;
  /** TLS of GATEWAY_PORT and the admin port (TLS_CERT_FILE, TLS_KEY_FILE); unset: plain text. */
  readonly tls?: ServerTls;
  readonly coreUrl: string;
  /** TLS to CORE_URL (CORE_CA_FILE, CORE_CLIENT_CERT_FILE, CORE_CLIENT_KEY_FILE); unset: h2c. */
  readonly coreTls?: CoreClientTls;
  /** REDIS_URL: one Redis, or with `redisCluster` the comma-separated seed nodes of a cluster. */
  readonly redisUrl?: string;
  /** REDIS_CLUSTER=true: REDIS_URL names a Redis Cluster (default false). */
  readonly redisCluster: boolean;
  /** First part of every Redis key (REDIS_KEY_PREFIX, default "teller"). */
  readonly redisKeyPrefix: string;
  readonly dataDir: string;
  readonly privateJwk: JWK;
  readonly ratePerIp: Rate;
  readonly maxBodyBytes: number;
  readonly httpTimeoutMs: number;
  readonly corsOrigins: readonly string[];
  /** Trust X-Forwarded-For from a proxy in front (TRUST_PROXY=true); off by default, it is spoofable. */
  readonly trustProxy: boolean;
  readonly gateways: readonly GatewayName[];
  readonly whatsapp: WhatsAppConfig;
  readonly twilio: TwilioConfig;
  readonly messenger: MetaMessagingConfig;
  readonly instagram: MetaMessagingConfig;
  readonly telegram: TelegramConfig;
  /** The web chat under /chat (GATEWAYS name "web", the core's channel name). */
  readonly web: WebchatConfig;
  readonly logLevel: string;
}

/**
 * Loads the gateway's config: `*_FILE` variants, documented defaults, every problem collected
 * into one ConfigError. In production every channel secret of an enabled gateway is required; in
 * development `dev` supplies the signing key and derived channel secrets.
 */
export function loadGatewayConfig(env: Env, dev?: DevSecrets): GatewayConfig {
  const problems: string[] = [];
  const production = env.NODE_ENV === "production";
  const secret = (name: string, minLength: number): string => {
    const value = readVar(env, name, problems);
    if (value !== undefined) {
      if (production && value.length < minLength)
        problems.push(`${name} is too short (at least ${minLength} characters)`);
      return value;
    }
    if (!production && dev) return deriveDevSecret(dev, name);
    problems.push(`${name} is required in production`);
    return "";
  };
  const gateways = readGateways(env, production, problems);
  const wants = (name: GatewayName) => gateways.includes(name);
  const apiBase = (name: string) => readApiBase(env, name, production, problems);
  const meta = { env, problems, secret, apiBase };
  const host = readVar(env, "LISTEN_HOST", problems) ?? (production ? "0.0.0.0" : "127.0.0.1");
  const coreUrl = readCoreUrl(env, problems);
  const tls = readServerTls(env, problems);
  const coreTls = readCoreClientTls(env, problems);
  const terminatedByProxy = readTerminatedByProxy(env, problems);
  checkPlaintextListener({ production, terminatedByProxy, host, tls: tls !== undefined }, problems);
  checkPlaintextCoreCall(
    { production, terminatedByProxy, coreUrl, coreTls: coreTls !== undefined },
    problems,
  );
  const config: GatewayConfig = {
    production,
    host,
    gatewayPort: readPort(env, "GATEWAY_PORT", 3000, problems),
    adminPort: readPort(env, "ADMIN_PORT", 9090, problems),
    tls,
    coreUrl,
    coreTls,
    ...readRedisSettings(env, problems),
    redisKeyPrefix: readKeyPrefix(env, problems),
    dataDir: readVar(env, "DATA_DIR", problems) ?? "./data",
    privateJwk: readPrivateJwk(env, production, dev, problems),
    ratePerIp: readRate(env, "RATE_LIMIT_PER_IP", "100/15m", problems),
    maxBodyBytes: readInt(env, "MAX_BODY_BYTES", 1_048_576, problems, 1024),
    httpTimeoutMs: readDuration(env, "HTTP_TIMEOUT", "10s", problems),
    corsOrigins: readOrigins(env, problems),
    trustProxy: readVar(env, "TRUST_PROXY", problems) === "true",
    gateways,
    whatsapp: {
      appSecret: wants("whatsapp") ? secret("WHATSAPP_APP_SECRET", 16) : "",
      verifyToken: wants("whatsapp") ? secret("WHATSAPP_VERIFY_TOKEN", 16) : "",
      accessToken: wants("whatsapp") ? secret("WHATSAPP_ACCESS_TOKEN", 16) : "",
      phoneNumberId:
        readVar(env, "WHATSAPP_PHONE_NUMBER_ID", problems) ??
        (production ? missing("WHATSAPP_PHONE_NUMBER_ID", problems, wants("whatsapp")) : "100000000000001"),
      apiBaseUrl: readApiBase(env, "WHATSAPP_API_BASE_URL", production, problems),
      apiVersion: readVar(env, "WHATSAPP_API_VERSION", problems) ?? "v21.0",
    },
    telegram: readTelegramConfig(env, { production, dev, enabled: wants("telegram") }, problems),
    messenger: readMetaMessagingConfig("MESSENGER", wants("messenger"), meta),
    instagram: readMetaMessagingConfig("INSTAGRAM", wants("instagram"), meta),
    twilio: readTwilioConfig(
      env,
      { production, dev, enabled: wants("twilio"), devApiBaseUrl: `http://127.0.0.1:${DEV_GRAPH_PORT}` },
      problems,
    ),
    web: readWebchatConfig(env, { production, dev, enabled: wants("web") }, problems),
    logLevel: readVar(env, "LOG_LEVEL", problems) ?? "info",
  };
  if (!/^\d{1,20}$/.test(config.whatsapp.phoneNumberId) && wants("whatsapp")) {
    problems.push("WHATSAPP_PHONE_NUMBER_ID must be the numeric id of the business phone number");
  }
  if (!/^v\d{1,3}\.\d{1,2}$/.test(config.whatsapp.apiVersion))
    problems.push("WHATSAPP_API_VERSION must look like v21.0");
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

function missing(name: string, problems: string[], needed: boolean): string {
  if (needed) problems.push(`${name} is required in production`);
  return "";
}

/**
 * The secret whose presence turns a channel on in production when GATEWAYS is unset: "a bank turns
 * on any channel by setting its secrets" (issue 6). Development turns every channel on.
 */
const CHANNEL_SECRET: Readonly<Record<GatewayName, string>> = {
  whatsapp: "WHATSAPP_APP_SECRET",
  telegram: "TELEGRAM_BOT_TOKEN",
  messenger: "MESSENGER_APP_SECRET",
  instagram: "INSTAGRAM_APP_SECRET",
  twilio: "TWILIO_AUTH_TOKEN",
  web: "WEBCHAT_SESSION_SECRET",
};

function readGateways(env: Env, production: boolean, problems: string[]): GatewayName[] {
  const raw = readVar(env, "GATEWAYS", problems);
  if (raw === undefined) {
    if (!production) return [...KNOWN_GATEWAYS];
    const set = KNOWN_GATEWAYS.filter((name) => {
      const variable = CHANNEL_SECRET[name];
      return env[variable] !== undefined || env[`${variable}_FILE`] !== undefined;
    });
    if (set.length === 0)
      problems.push("no channel is configured: set a channel's secrets (see .env.example) or GATEWAYS");
    return set;
  }
  const names = raw
    .split(",")
    .map((n) => n.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(KNOWN_GATEWAYS as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    problems.push(`GATEWAYS must list some of: ${KNOWN_GATEWAYS.join(", ")}`);
  }
  return names.filter((n): n is GatewayName => (KNOWN_GATEWAYS as readonly string[]).includes(n));
}

function readCoreUrl(env: Env, problems: string[]): string {
  const raw = readVar(env, "CORE_URL", problems) ?? "127.0.0.1:8080";
  // grpc-js targets are host:port (dns:/// is implied); a scheme-less form keeps it one shape.
  if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(raw)) {
    problems.push(`CORE_URL must be host:port of the core's gRPC port, got "${raw}"`);
  }
  return raw;
}

function readPrivateJwk(env: Env, production: boolean, dev: DevSecrets | undefined, problems: string[]): JWK {
  const raw = readVar(env, "JWT_PRIVATE_JWK", problems);
  if (raw === undefined) {
    if (!production && dev) return dev.privateJwk;
    problems.push(
      "JWT_PRIVATE_JWK (or JWT_PRIVATE_JWK_FILE) is required in production: the gateway's signing key",
    );
    return {};
  }
  try {
    const jwk = JSON.parse(raw) as JWK;
    if ((jwk.alg !== "EdDSA" && jwk.alg !== "ES256") || typeof jwk.d !== "string") throw new Error("bad key");
    return jwk;
  } catch {
    problems.push("JWT_PRIVATE_JWK must be a private JWK with alg EdDSA or ES256");
    return {};
  }
}

function readApiBase(env: Env, name: string, production: boolean, problems: string[]): string {
  const fallback = production ? "https://graph.facebook.com" : `http://127.0.0.1:${DEV_GRAPH_PORT}`;
  const raw = readVar(env, name, problems) ?? fallback;
  try {
    const url = new URL(raw);
    if (production && url.protocol !== "https:") problems.push(`${name} must be https:// in production`);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("scheme");
  } catch {
    problems.push(`${name} must be an http(s) URL`);
  }
  return raw.replace(/\/+$/, "");
}

function readOrigins(env: Env, problems: string[]): string[] {
  const raw = readVar(env, "CORS_ORIGINS", problems);
  if (raw === undefined) return [];
  const origins = raw
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  for (const origin of origins) {
    if (!/^https?:\/\/[^/\s*]+$/.test(origin))
      problems.push(`CORS_ORIGINS entries must be origins like https://bank.example, got "${origin}"`);
  }
  return origins;
}

function readRate(env: Env, name: string, fallback: string, problems: string[]): Rate {
  const raw = readVar(env, name, problems) ?? fallback;
  const rate = parseRate(raw);
  if (!rate) problems.push(`${name} must be a rate such as 100/15m, got "${raw}"`);
  return rate ?? (parseRate(fallback) as Rate);
}

function readDuration(env: Env, name: string, fallback: string, problems: string[]): number {
  const raw = readVar(env, name, problems) ?? fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) problems.push(`${name} must be a duration such as 10s, got "${raw}"`);
  return ms ?? (parseDuration(fallback) as number);
}
