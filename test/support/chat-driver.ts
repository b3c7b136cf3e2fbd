import { expect } from "chai";
import { Channel } from "../../gen/teller/v1/common_pb.js";
import { ConversationService } from "../../gen/teller/v1/conversation_service_pb.js";
import type { TestCore } from "./core.js";
import { ok } from "./invoke.js";

/** A reply as a test reads it: the text and the payloads of its quick replies. */
export interface SeenReply {
  readonly text: string;
  readonly payloads: string[];
}

/** Talks to the core's HandleMessage as a gateway would, one customer at a time. */
export interface ChatDriver {
  /** Sends a text; returns the replies. */
  say(text: string): Promise<SeenReply[]>;
  /** Taps a quick reply (its payload comes back as the action payload). */
  tap(payload: string): Promise<SeenReply[]>;
  /** The 6-digit code in the newest development SMS to `phone`. */
  lastCode(phone: string): Promise<string>;
  /** How many development SMS `phone` has received. */
  smsCount(phone: string): Promise<number>;
}

/** A driver for one chat identity (WhatsApp by default, where the user id is the phone). */
export async function chatAs(
  t: TestCore,
  channelUserId: string,
  channel = Channel.WHATSAPP,
): Promise<ChatDriver> {
  let n = 0;
  const send = async (content: { case: "text" | "actionPayload"; value: string }) => {
    n += 1;
    // A token per message: tests that move a manual clock past its 5 minutes still authenticate.
    const authorization = `Bearer ${await t.token(["conversation"])}`;
    const response = await ok(
      t.core.invoker,
      ConversationService.method.handleMessage,
      { channel, channelUserId, messageId: `${channelUserId}-m${n}-${Date.now()}`, content },
      { authorization },
    );
    return response.replies.map((r) => ({ text: r.text, payloads: r.quickReplies.map((q) => q.payload) }));
  };
  const outbox = () => {
    const box = t.core.devOutbox;
    if (!box) throw new Error("the test core has no development SMS outbox");
    return box;
  };
  return {
    say: (text) => send({ case: "text", value: text }),
    tap: (payload) => send({ case: "actionPayload", value: payload }),
    async lastCode(phone) {
      const [sms] = await outbox().read(phone);
      const code = /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1];
      expect(code, "a code in the newest SMS").to.be.a("string");
      return code as string;
    },
    smsCount: async (phone) => (await outbox().read(phone)).length,
  };
}

/** All reply texts joined, for assertions that do not care how the answer was split. */
export function textOf(replies: readonly SeenReply[]): string {
  return replies.map((r) => r.text).join("\n");
}
