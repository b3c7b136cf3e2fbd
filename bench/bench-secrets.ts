/**
 * The channel settings the webhook benchmark's processes share: the gateway child is configured
 * with them, the client signs (or sets the secret header, or mints session tokens) with them, the
 * bare handler checks with them, and the provider fakes of the sink child accept their tokens.
 * Bench-only values, never used outside bench/.
 */

export const BENCH_WHATSAPP = {
  appSecret: "bench-app-secret-0123456789abcdef",
  verifyToken: "bench-verify-token-0123456789",
  accessToken: "bench-access-token-0123456789abcdef",
  phoneNumberId: "106540352242922",
  displayPhoneNumber: "15550783881",
  apiVersion: "v21.0",
} as const;

/** Messenger and Instagram: one Meta app each, so each has its own secret and Page token. */
export const BENCH_MESSENGER = {
  appSecret: "bench-messenger-secret-0123456789",
  verifyToken: "bench-messenger-verify-0123456789",
  pageAccessToken: "bench-messenger-page-token-0123456789",
  pageId: "100000000000021",
  apiVersion: "v21.0",
} as const;

export const BENCH_INSTAGRAM = {
  appSecret: "bench-instagram-secret-0123456789",
  verifyToken: "bench-instagram-verify-0123456789",
  pageAccessToken: "bench-instagram-page-token-0123456789",
  pageId: "17841400000000021",
  apiVersion: "v21.0",
} as const;

/** Telegram: a token shaped as BotFather issues them and the secret_token given to setWebhook. */
export const BENCH_TELEGRAM = {
  botToken: "7000000021:AAbench-telegram-bot-token_0123456789",
  webhookSecret: "bench-telegram-webhook-secret_0123456789",
} as const;

/**
 * Twilio: the account, its auth token, our SMS number, and the public address Twilio is told to
 * call (PUBLIC_BASE_URL): signatures cover that URL, not the loopback one the bench connects to.
 */
export const BENCH_TWILIO = {
  accountSid: `AC${"be".repeat(16)}`,
  authToken: "bench-twilio-auth-token-012345678",
  smsFrom: "+15005550006",
  publicBaseUrl: "https://bench.teller.example",
} as const;

/** The web chat's WEBCHAT_SESSION_SECRET (HS256, at least 32 characters as in production). */
export const BENCH_WEBCHAT = {
  sessionSecret: "bench-webchat-session-secret-0123456789abcdef",
} as const;
