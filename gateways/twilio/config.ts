/**
 * The Twilio channel's settings (DESIGN.md, Running it): TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,
 * TWILIO_API_BASE_URL, TWILIO_SMS_FROM and PUBLIC_BASE_URL, plus TWILIO_WHATSAPP_FROM for WhatsApp
 * through Twilio. Read by loadGatewayConfig, which collects the problems of every channel at once.
 */
import { type DevSecrets, deriveDevSecret } from "../../lib/dev-secrets.js";
import { type Env, readPort, readVar } from "../../lib/env.js";

/** Twilio settings, validated. */
export interface TwilioConfig {
  /** "AC" and 32 hex digits: the account in the Messages API path and the basic-auth user. */
  readonly accountSid: string;
  /** Signs every webhook (X-Twilio-Signature) and is the basic-auth password of the Messages API. */
  readonly authToken: string;
  /** "https://api.twilio.com", or a local stand-in in tests and `teller chat`. */
  readonly apiBaseUrl: string;
  /** The number SMS replies come from (E.164, or a short code). */
  readonly smsFrom: string;
  /**
   * The WhatsApp sender's number, E.164 without "whatsapp:": TWILIO_WHATSAPP_FROM, else smsFrom when
   * that is E.164; "" when there is none (a short code), and WhatsApp replies are then refused.
   */
  readonly whatsappFrom: string;
  /**
   * The public address Twilio calls, scheme, host and any path prefix, without a trailing "/":
   * signatures cover the URL as Twilio requested it, which behind a proxy the Host header does
   * not tell (channels.md §4.2, error 57012).
   */
  readonly publicBaseUrl: string;
}

/** What the reader needs to know about the rest of the configuration. */
export interface TwilioConfigContext {
  readonly production: boolean;
  /** The twilio gateway is among GATEWAYS: its secrets are required in production. */
  readonly enabled: boolean;
  /** Development secrets, from which a development auth token is derived. */
  readonly dev?: DevSecrets;
  /** The Messages API base in development: the local stand-in `teller chat` runs. */
  readonly devApiBaseUrl: string;
}

const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;
const E164 = /^\+[1-9][0-9]{7,14}$/;
const SENDER = /^\+[1-9][0-9]{7,14}$|^[0-9]{3,8}$/;
/** Twilio's magic test number, for development only. */
const DEV_SMS_FROM = "+15005550006";

/** Reads TWILIO_* and PUBLIC_BASE_URL, pushing every problem onto `problems`. */
export function readTwilioConfig(env: Env, context: TwilioConfigContext, problems: string[]): TwilioConfig {
  const { production, enabled } = context;
  const need = (name: string) => {
    if (production && enabled) problems.push(`${name} is required in production`);
  };
  const accountSid =
    readVar(env, "TWILIO_ACCOUNT_SID", problems) ?? (production ? "" : `AC${"0".repeat(32)}`);
  if (accountSid === "") need("TWILIO_ACCOUNT_SID");
  else if (enabled && !ACCOUNT_SID.test(accountSid))
    problems.push("TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits");
  const authToken = readAuthToken(env, context, problems);
  const smsFrom = readVar(env, "TWILIO_SMS_FROM", problems) ?? (production ? "" : DEV_SMS_FROM);
  if (smsFrom === "") need("TWILIO_SMS_FROM");
  else if (enabled && !SENDER.test(smsFrom))
    problems.push("TWILIO_SMS_FROM must be an E.164 number or a short code");
  // A short code cannot send WhatsApp: without TWILIO_WHATSAPP_FROM there is then no WhatsApp sender.
  const explicit = readVar(env, "TWILIO_WHATSAPP_FROM", problems)?.replace(/^whatsapp:/, "");
  const whatsappFrom = explicit ?? (E164.test(smsFrom) ? smsFrom : "");
  if (enabled && explicit !== undefined && !E164.test(explicit))
    problems.push("TWILIO_WHATSAPP_FROM must be an E.164 number, with or without whatsapp:");
  return {
    accountSid,
    authToken,
    apiBaseUrl: checkBase(
      "TWILIO_API_BASE_URL",
      readVar(env, "TWILIO_API_BASE_URL", problems) ??
        (production ? "https://api.twilio.com" : context.devApiBaseUrl),
      context,
      problems,
    ),
    smsFrom,
    whatsappFrom,
    publicBaseUrl: readPublicBaseUrl(env, context, problems),
  };
}

function readAuthToken(env: Env, context: TwilioConfigContext, problems: string[]): string {
  const value = readVar(env, "TWILIO_AUTH_TOKEN", problems);
  if (value !== undefined) {
    // Twilio's auth tokens (and API key secrets) are 32 characters.
    if (context.production && context.enabled && value.length < 32)
      problems.push("TWILIO_AUTH_TOKEN is too short (at least 32 characters)");
    return value;
  }
  if (!context.production && context.dev) return deriveDevSecret(context.dev, "TWILIO_AUTH_TOKEN");
  if (context.enabled) problems.push("TWILIO_AUTH_TOKEN is required in production");
  return "";
}

/**
 * PUBLIC_BASE_URL: required in production (https), else http://127.0.0.1:<GATEWAY_PORT>. A query or
 * fragment cannot be part of a base, and a trailing "/" is dropped so the path joins cleanly.
 */
function readPublicBaseUrl(env: Env, context: TwilioConfigContext, problems: string[]): string {
  const raw = readVar(env, "PUBLIC_BASE_URL", problems);
  if (raw === undefined) {
    if (context.production && context.enabled) problems.push("PUBLIC_BASE_URL is required in production");
    // Problems with GATEWAY_PORT are loadGatewayConfig's to report.
    return context.production ? "" : `http://127.0.0.1:${readPort(env, "GATEWAY_PORT", 3000, [])}`;
  }
  const base = checkBase("PUBLIC_BASE_URL", raw, context, problems);
  if (/[?#]/.test(base)) problems.push("PUBLIC_BASE_URL must not have a query or a fragment");
  return base;
}

/** An http(s) URL (https in production) without trailing "/"; problems only when enabled. */
function checkBase(name: string, raw: string, context: TwilioConfigContext, problems: string[]): string {
  try {
    const url = new URL(raw);
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("scheme");
    if (context.production && context.enabled && url.protocol !== "https:")
      problems.push(`${name} must be https:// in production`);
  } catch {
    if (context.enabled) problems.push(`${name} must be an http(s) URL`);
  }
  return raw.replace(/\/+$/, "");
}
