/**
 * The settings of one Meta messaging channel, read from the environment (DESIGN.md, Running it):
 * `<PREFIX>_APP_SECRET`, `<PREFIX>_VERIFY_TOKEN`, `<PREFIX>_PAGE_ACCESS_TOKEN`,
 * `<PREFIX>_API_BASE_URL` and `<PREFIX>_API_VERSION`, with MESSENGER or INSTAGRAM as the prefix.
 * Each app has its own secret: a body signed for Messenger never passes on Instagram's webhook.
 */
import { type Env, readVar } from "../../lib/env.js";

/** Messenger or Instagram settings. */
export interface MetaMessagingConfig {
  /** The Meta app's secret: checks X-Hub-Signature-256 and signs appsecret_proof. */
  readonly appSecret: string;
  /** The token entered in the App Dashboard for the GET handshake. */
  readonly verifyToken: string;
  /** The Page access token the Send API is called with. */
  readonly pageAccessToken: string;
  /** Graph API base, without a trailing slash. */
  readonly apiBaseUrl: string;
  /** Pinned Graph version, e.g. "v21.0". */
  readonly apiVersion: string;
}

/**
 * The readers loadGatewayConfig lends, so every channel applies the same rules: `secret` derives a
 * development value or demands one in production (with a minimum length), `apiBase` validates a
 * URL (https in production) and falls back to the development Graph stand-in.
 */
export interface MetaConfigReaders {
  readonly env: Env;
  readonly problems: string[];
  secret(name: string, minLength: number): string;
  apiBase(name: string): string;
}

/**
 * Reads the settings of the channel whose variables start with `prefix`. Secrets are read (and
 * required in production) only when the channel is `wanted`; otherwise they stay empty, which
 * every check treats as "refuse".
 */
export function readMetaMessagingConfig(
  prefix: "MESSENGER" | "INSTAGRAM",
  wanted: boolean,
  readers: MetaConfigReaders,
): MetaMessagingConfig {
  const apiVersion = readVar(readers.env, `${prefix}_API_VERSION`, readers.problems) ?? "v21.0";
  if (!/^v\d{1,3}\.\d{1,2}$/.test(apiVersion))
    readers.problems.push(`${prefix}_API_VERSION must look like v21.0`);
  const secret = (name: string) => (wanted ? readers.secret(`${prefix}_${name}`, 16) : "");
  return {
    appSecret: secret("APP_SECRET"),
    verifyToken: secret("VERIFY_TOKEN"),
    pageAccessToken: secret("PAGE_ACCESS_TOKEN"),
    apiBaseUrl: readers.apiBase(`${prefix}_API_BASE_URL`),
    apiVersion,
  };
}
