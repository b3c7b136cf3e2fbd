import { status } from "@grpc/grpc-js";
import type { Logger } from "../lib/logger.js";
import {
  type CoreAnswer,
  CoreCallError,
  type CoreConversation,
  type CoreMessage,
} from "./core-client-port.js";
import type { OutboundReply, Outbox } from "./outbox/outbox.js";

/** One inbound message of any channel, parsed and verified, as the shared flow needs it. */
export interface InboundTurn {
  readonly channel: CoreMessage["channel"];
  /** The sender's channel user id (E.164 on WhatsApp and SMS); the reply's recipient. */
  readonly from: string;
  readonly messageId: string;
  readonly sentAt?: number;
  readonly text?: string;
  readonly actionPayload?: string;
  /** Set for a message type the channel cannot pass on: the reply to send instead of asking the core. */
  readonly unsupported?: string;
}

/** Collaborators of answerInbound. */
export interface InboundDeps {
  readonly core: CoreConversation;
  readonly outbox: Outbox;
  readonly logger: Logger;
  readonly requestId: string;
}

export const SLOW_DOWN =
  "You are sending messages faster than I can answer. Please wait a moment and try again.";
export const UNREADABLE = "Sorry, I could not read that message. Please send plain text.";

/**
 * Runs one inbound message through the core and stores its replies in the outbox; resolves only
 * when they are stored, so the webhook can be acknowledged. Refusals the customer should hear
 * about (too many messages, an unreadable message) become a reply; a core that cannot be reached
 * rejects, so the provider redelivers and nothing is lost (the core and the outbox dedupe it).
 */
export async function answerInbound(turn: InboundTurn, deps: InboundDeps): Promise<void> {
  if (turn.unsupported !== undefined) {
    await deps.outbox.enqueue([outbound(turn, 0, 0, turn.unsupported)]);
    return;
  }
  let answer: CoreAnswer;
  try {
    answer = await deps.core.handleMessage(
      {
        channel: turn.channel,
        channelUserId: turn.from,
        messageId: turn.messageId,
        sentAt: turn.sentAt,
        text: turn.text,
        actionPayload: turn.actionPayload,
      },
      deps.requestId,
    );
  } catch (err) {
    const text = refusalText(err);
    if (text === undefined) throw err;
    deps.logger.info(
      { requestId: deps.requestId, reason: (err as CoreCallError).reason },
      "message refused by the core",
    );
    await deps.outbox.enqueue([outbound(turn, 0, 0, text)]);
    return;
  }
  await deps.outbox.enqueue(
    answer.replies.map((r, i) => outbound(turn, answer.sequence, i, r.text, r.choices)),
  );
}

function refusalText(err: unknown): string | undefined {
  if (!(err instanceof CoreCallError)) return undefined;
  if (err.code === status.RESOURCE_EXHAUSTED) return SLOW_DOWN;
  if (err.code === status.INVALID_ARGUMENT) return UNREADABLE;
  return undefined;
}

function outbound(
  turn: InboundTurn,
  sequence: number,
  index: number,
  text: string,
  choices: OutboundReply["choices"] = [],
): OutboundReply {
  return {
    channel: turn.channel,
    recipient: turn.from,
    messageId: turn.messageId,
    sequence,
    index,
    text,
    choices,
  };
}
