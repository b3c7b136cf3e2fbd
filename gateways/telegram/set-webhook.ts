/**
 * Registration of the webhook with Telegram (channels.md §3.1), for `teller telegram set-webhook`:
 * one setWebhook call naming our URL, the secret token Telegram will send back on every update,
 * and the only update kinds the gateway reads.
 */
import type { BotApi } from "./bot-api.js";

/** The update kinds the gateway answers; Telegram sends no others once this is set. */
export const ALLOWED_UPDATES = ["message", "callback_query"] as const;

/** The webhook path, under PUBLIC_BASE_URL (DESIGN.md, Running it). */
export const TELEGRAM_WEBHOOK_PATH = "/webhooks/telegram";

/** What setTelegramWebhook needs. */
export interface SetWebhookOptions {
  readonly api: BotApi;
  /** PUBLIC_BASE_URL: the address Telegram calls, e.g. "https://bank.example" (a path prefix is kept). */
  readonly publicBaseUrl: string;
  readonly webhookSecret: string;
}

/** The outcome, with Telegram's own words for an operator. */
export type SetWebhookResult =
  | { readonly ok: true; readonly url: string; readonly description?: string }
  | { readonly ok: false; readonly url: string; readonly reason: string; readonly description?: string };

/**
 * Calls setWebhook with `url` = PUBLIC_BASE_URL + /webhooks/telegram, `secret_token`,
 * `allowed_updates` ["message", "callback_query"] and `drop_pending_updates` false: updates that
 * waited while the webhook changed are still delivered (Telegram keeps them up to 24 h), and the
 * core dedupes any it already answered.
 */
export async function setTelegramWebhook(options: SetWebhookOptions): Promise<SetWebhookResult> {
  const url = webhookUrl(options.publicBaseUrl);
  const result = await options.api.call("setWebhook", {
    url,
    secret_token: options.webhookSecret,
    allowed_updates: [...ALLOWED_UPDATES],
    drop_pending_updates: false,
  });
  if (result.ok) return { ok: true, url, description: result.description };
  return { ok: false, url, reason: result.reason, description: result.description };
}

/**
 * The webhook URL for a public base URL. Throws for anything but an absolute http(s) URL without
 * query or fragment; Telegram itself refuses a non-HTTPS URL, and says so.
 */
export function webhookUrl(publicBaseUrl: string): string {
  const base = new URL(publicBaseUrl);
  if (base.protocol !== "https:" && base.protocol !== "http:")
    throw new Error("PUBLIC_BASE_URL must be an http(s) URL");
  if (base.search !== "" || base.hash !== "")
    throw new Error("PUBLIC_BASE_URL must not have a query or fragment");
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}${TELEGRAM_WEBHOOK_PATH}`;
}
