import { deriveSubjectId } from "../../lib/subject-id.js";
import type { AuditLog } from "./audit.js";
import type { Channel } from "./channel.js";
import type { ConversationLock, SubjectData } from "./conversation-ports.js";
import { DomainError } from "./errors.js";

/** Collaborators of the erasure use case. */
export interface ErasureDeps {
  readonly userIdSalt: string;
  /**
   * Every kind of data kept about a subject (sessions, transcripts, the message log, …). A new
   * store of subject data registers here, or EraseSubject silently leaves it behind.
   */
  readonly parts: readonly SubjectData[];
  readonly audit: Pick<AuditLog, "record">;
  /** The conversation lock, so no message of the subject is half-handled while its data goes. */
  readonly lock: ConversationLock;
}

/** What EraseSubject did. */
export interface ErasedSubject {
  /** The pseudonymous subject whose data was erased; the only id the audit trail keeps. */
  readonly subjectId: string;
  /** Names of the parts erased, in registration order. */
  readonly parts: readonly string[];
}

/** The EraseSubject use case (GDPR art. 17; DESIGN.md, Banking: retention and erasure). */
export interface Erasure {
  /**
   * Erases everything kept about a channel identity and records "subject.erased". Idempotent:
   * an unknown or already erased subject succeeds. Throws DomainError UNAVAILABLE when a part
   * failed (recorded with outcome failure), so the caller retries; CONVERSATION_BUSY when the
   * subject's messages hold the lock too long.
   */
  eraseSubject(channel: Channel, channelUserId: string): Promise<ErasedSubject>;
}

/**
 * Creates the erasure use case. Every part is erased under the subject's conversation lock, so
 * a message handled at the same moment finishes before or starts after, never in between.
 * Parts run side by side and each is tried even when another fails. The audit trail is not a
 * part: its earlier entries name only the pseudonymous subject and stay (DESIGN.md, Banking).
 */
export function createErasure(deps: ErasureDeps): Erasure {
  const names = deps.parts.map((part) => part.name);
  return {
    async eraseSubject(channel, channelUserId) {
      const subjectId = deriveSubjectId(deps.userIdSalt, channel, channelUserId);
      const results = await deps.lock.run(subjectId, () =>
        Promise.allSettled(deps.parts.map((part) => part.erase(subjectId))),
      );
      const failed = deps.parts.filter((_, i) => results[i]?.status === "rejected").map((part) => part.name);
      const attributes = { channel, parts: names.join(",") };
      if (failed.length > 0) {
        await deps.audit.record({
          type: "subject.erased",
          subjectId,
          outcome: "failure",
          attributes: { ...attributes, failed: failed.join(",") },
        });
        const cause = results.find((result) => result.status === "rejected") as PromiseRejectedResult;
        throw new DomainError("UNAVAILABLE", "Could not erase all of the subject's data; please retry.", {
          cause: cause.reason,
        });
      }
      await deps.audit.record({ type: "subject.erased", subjectId, outcome: "success", attributes });
      return { subjectId, parts: names };
    },
  };
}
