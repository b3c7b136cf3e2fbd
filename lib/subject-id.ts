import { createHmac } from "node:crypto";

/**
 * Derives the pseudonymous subject id of a channel identity: hex HMAC-SHA256(salt, "channel:id").
 * Logs, Redis keys and rate-limit keys use it instead of the raw phone number or user id (DESIGN.md,
 * Identity). The channel name is part of the input so one number on WhatsApp and SMS are two subjects.
 */
export function deriveSubjectId(salt: Uint8Array | string, channel: string, channelUserId: string): string {
  return createHmac("sha256", salt).update(`${channel}:${channelUserId}`).digest("hex");
}
