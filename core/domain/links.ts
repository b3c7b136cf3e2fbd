import type { Channel } from "./channel.js";

/**
 * ChannelLinks records which bank customer a chat identity belongs to (DESIGN.md, Identity: a
 * channel identity is linked once, through an OTP sent to the registered phone). Keyed by the
 * pseudonymous subject id, so the table holds no channel user id. Errors are DomainError:
 * NOT_FOUND (unknown customer), UNAVAILABLE.
 */
export interface ChannelLinks {
  /** The customer this subject is linked to, if any. */
  find(subjectId: string): Promise<string | undefined>;
  /** Links (or re-links) the subject; audited as "channel.linked" in the same transaction. */
  link(input: { subjectId: string; channel: Channel; customerId: string }): Promise<void>;
  /** Removes the subject's link; audited as "channel.unlinked" when there was one. */
  unlink(subjectId: string): Promise<boolean>;
}
