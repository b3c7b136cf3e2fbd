/**
 * The WhatsApp settings the webhook benchmark's processes share: the gateway child is configured
 * with them, the client signs with the app secret, and the Graph API sink checks the path and the
 * bearer token. Bench-only values, never used outside bench/.
 */
export const BENCH_WHATSAPP = {
  appSecret: "bench-app-secret-0123456789abcdef",
  verifyToken: "bench-verify-token-0123456789",
  accessToken: "bench-access-token-0123456789abcdef",
  phoneNumberId: "106540352242922",
  displayPhoneNumber: "15550783881",
  apiVersion: "v21.0",
} as const;
