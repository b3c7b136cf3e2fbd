import type { OutboundReply, Sender, SendOutcome } from "../outbox/outbox.js";
import type { MailboxStore } from "./mailbox.js";
import { VISITOR_ID } from "./session-token.js";

/**
 * The web chat's Sender: "sending" a reply is storing it in the visitor's mailbox, from which the
 * visitor's event stream (open now or opened later) reads it. The outbox still gives what it gives
 * every channel: replies stored before the 202, in order, once each; a mailbox that cannot be
 * written (Redis down) is retried with backoff like a provider's 503.
 */
export function createWebchatSender(mailbox: MailboxStore): Sender {
  return {
    async send(reply: OutboundReply): Promise<SendOutcome> {
      if (!VISITOR_ID.test(reply.recipient)) return { kind: "fatal", reason: "recipient not a visitor id" };
      try {
        // Stored once per key: a resend after a lost acknowledgement shows nothing twice.
        await mailbox.put(reply.recipient, {
          key: `${reply.messageId}:${reply.index}`,
          text: reply.text,
          choices: reply.choices.map(({ title, payload }) => ({ title, payload })),
        });
        return { kind: "sent" };
      } catch (error) {
        return { kind: "retry", reason: `mailbox ${error instanceof Error ? error.name : "error"}` };
      }
    },
  };
}
