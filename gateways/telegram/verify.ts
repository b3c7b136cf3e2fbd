/**
 * Authenticity of Telegram webhooks (channels.md §3.1, security.md WH-3): Telegram signs nothing;
 * it sends back, on every update, the `secret_token` we gave setWebhook, in the header
 * X-Telegram-Bot-Api-Secret-Token. Knowing that secret is the only proof a request is Telegram's.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { WEBHOOK_SECRET_PATTERN } from "./config.js";

/** The header Telegram puts the secret token in (header names are case-insensitive). */
export const SECRET_TOKEN_HEADER = "x-telegram-bot-api-secret-token";

/**
 * True when `header` equals the configured secret. The comparison is constant-time over SHA-256
 * digests of both sides, so neither where they differ nor the secret's length leaks through
 * timing. A missing or empty header, one outside the secret_token alphabet (Telegram could never
 * send it) and an empty configured secret are refused: a misconfiguration fails closed.
 */
export function verifySecretToken(header: string | undefined, secret: string): boolean {
  if (typeof header !== "string" || secret.length === 0) return false;
  if (!WEBHOOK_SECRET_PATTERN.test(header)) return false;
  const given = createHash("sha256").update(header, "utf8").digest();
  const expected = createHash("sha256").update(secret, "utf8").digest();
  return timingSafeEqual(given, expected);
}
