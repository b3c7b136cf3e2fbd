/**
 * The Telegram part of the gateway config (DESIGN.md, Running it): TELEGRAM_BOT_TOKEN,
 * TELEGRAM_WEBHOOK_SECRET and TELEGRAM_API_BASE_URL, read and checked here so that
 * gateways/config.ts only adds one field. Problems are collected, never thrown.
 */
import { type DevSecrets, deriveDevSecret } from "../../lib/dev-secrets.js";
import { type Env, readVar } from "../../lib/env.js";

/** Telegram Bot API settings. */
export interface TelegramConfig {
  /** `<bot id>:<secret>`; it goes into the path of every Bot API call, so it is never logged. */
  readonly botToken: string;
  /** The `secret_token` given to setWebhook; every update carries it in X-Telegram-Bot-Api-Secret-Token. */
  readonly webhookSecret: string;
  /** "https://api.telegram.org", or a local stand-in in tests and `teller chat`; no trailing slash. */
  readonly apiBaseUrl: string;
}

/** How readTelegramConfig should treat missing values. */
export interface TelegramConfigOptions {
  readonly production: boolean;
  /** Development secrets: missing values are derived from them (not in production). */
  readonly dev?: DevSecrets;
  /** Whether GATEWAYS includes telegram; a disabled channel needs nothing. */
  readonly enabled: boolean;
}

/** Bot API tokens as BotFather issues them: the numeric bot id, a colon and the secret part. */
export const BOT_TOKEN_PATTERN = /^[0-9]{1,20}:[A-Za-z0-9_-]{20,128}$/;

/** setWebhook's `secret_token`: 1–256 of A–Z, a–z, 0–9, `_` and `-` (channels.md §3.1). */
export const WEBHOOK_SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;

/** The bot id development tokens carry; BotFather never issues id 1. */
const DEV_BOT_ID = "1";

/** The base URL of `teller chat`'s local provider stand-in (DEV_GRAPH_PORT of gateways/config.ts). */
const DEV_API_BASE_URL = "http://127.0.0.1:3999";

/**
 * Reads the Telegram settings. Production requires the token and a webhook secret of at least 32
 * characters and an https API base; development derives the token and the secret from the stored
 * salt, so the gateway and `teller chat` agree on them without configuration.
 */
export function readTelegramConfig(
  env: Env,
  options: TelegramConfigOptions,
  problems: string[],
): TelegramConfig {
  const { production, dev, enabled } = options;
  const apiBaseUrl = readApiBaseUrl(env, production, problems);
  if (!enabled) return { botToken: "", webhookSecret: "", apiBaseUrl };
  let botToken = readVar(env, "TELEGRAM_BOT_TOKEN", problems);
  let webhookSecret = readVar(env, "TELEGRAM_WEBHOOK_SECRET", problems);
  if (!production && dev) {
    botToken ??= devTelegramBotToken(dev);
    webhookSecret ??= deriveDevSecret(dev, "TELEGRAM_WEBHOOK_SECRET");
  }
  if (botToken === undefined) problems.push("TELEGRAM_BOT_TOKEN is required in production");
  else if (!BOT_TOKEN_PATTERN.test(botToken))
    // The value is never echoed: it is a credential.
    problems.push("TELEGRAM_BOT_TOKEN must look like <bot id>:<token>, as BotFather issues it");
  if (webhookSecret === undefined) problems.push("TELEGRAM_WEBHOOK_SECRET is required in production");
  else if (!WEBHOOK_SECRET_PATTERN.test(webhookSecret))
    problems.push("TELEGRAM_WEBHOOK_SECRET must be 1-256 of A-Z, a-z, 0-9, _ and -");
  else if (production && webhookSecret.length < 32)
    problems.push("TELEGRAM_WEBHOOK_SECRET is too short (at least 32 characters)");
  return { botToken: botToken ?? "", webhookSecret: webhookSecret ?? "", apiBaseUrl };
}

/**
 * The bot token development uses: a fixed bot id and a secret derived from the stored salt. It
 * has the shape of a real token, so the same checks apply in development and production.
 */
export function devTelegramBotToken(dev: DevSecrets): string {
  return `${DEV_BOT_ID}:${deriveDevSecret(dev, "TELEGRAM_BOT_TOKEN")}`;
}

/** The bot's numeric id: the public part of its token (it is the bot's user id on Telegram). */
export function botIdOf(botToken: string): string {
  return botToken.slice(0, Math.max(0, botToken.indexOf(":")));
}

function readApiBaseUrl(env: Env, production: boolean, problems: string[]): string {
  const name = "TELEGRAM_API_BASE_URL";
  const raw = readVar(env, name, problems) ?? (production ? "https://api.telegram.org" : DEV_API_BASE_URL);
  try {
    const url = new URL(raw);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("scheme");
    if (production && url.protocol !== "https:") problems.push(`${name} must be https:// in production`);
    // The token is appended as a path segment; a query or fragment here would swallow it.
    if (url.search !== "" || url.hash !== "") problems.push(`${name} must not have a query or fragment`);
  } catch {
    problems.push(`${name} must be an http(s) URL`);
  }
  return raw.replace(/\/+$/, "");
}
