/**
 * Authenticity checks of the Messenger and Instagram webhooks. Meta uses one scheme for all its
 * Graph webhooks (channels.md §2.1: "same header, same scheme"; the §1.10 vectors apply
 * unchanged): X-Hub-Signature-256 over the raw bytes and the hub.* handshake. The WhatsApp
 * gateway's constant-time implementation is that scheme, so it is reused rather than copied; each
 * channel passes its own app secret and verify token.
 */
export { checkVerifyHandshake, verifyHubSignature } from "../whatsapp/verify.js";
