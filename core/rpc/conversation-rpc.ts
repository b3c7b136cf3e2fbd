import {
  ConversationService,
  type HandleMessageRequest,
} from "../../gen/teller/v1/conversation_service_pb.js";
import type { Conversations, InboundMessage } from "../domain/conversation.js";
import { invalidArgument } from "../domain/errors.js";
import { requireKey, requireText } from "./fields.js";
import { route, type ServiceRoutes } from "./route.js";
import { validateIdentity } from "./session-rpc.js";

/** Collaborators of the ConversationService adapter. */
export interface ConversationRpcDeps {
  readonly conversations: Conversations;
  /** MAX_TEXT_CHARS (default 4096). */
  readonly maxTextChars: number;
}

/** The ConversationService routes; scope `conversation`. */
export function createConversationRoutes(deps: ConversationRpcDeps): ServiceRoutes {
  return {
    service: ConversationService,
    routes: {
      handleMessage: route(ConversationService.method.handleMessage, "conversation", async (req, ctx) => {
        const handled = await deps.conversations.handleMessage(validateHandleMessage(req, deps.maxTextChars));
        ctx.annotate({
          subject: handled.subjectId,
          duplicate: handled.duplicate,
          sequence: handled.sequence,
        });
        return {
          sessionId: handled.sessionId,
          duplicate: handled.duplicate,
          sequence: handled.sequence,
          replies: handled.replies.map((r) => ({ text: r.text, quickReplies: [...r.quickReplies] })),
        };
      }),
    },
  };
}

/** Validates HandleMessageRequest: identity, message id, exactly one of text and action payload. */
export function validateHandleMessage(req: HandleMessageRequest, maxTextChars: number): InboundMessage {
  const identity = validateIdentity(req);
  const messageId = requireKey("message_id", req.messageId, 256);
  switch (req.content.case) {
    case "text":
      return { ...identity, messageId, text: requireText("text", req.content.value, maxTextChars, true) };
    case "actionPayload":
      return { ...identity, messageId, actionPayload: requireKey("action_payload", req.content.value, 256) };
    default:
      throw invalidArgument("text", "one of text and action_payload is required");
  }
}
