import { maskCardNumbers } from "../../lib/redact.js";
import { deriveSubjectId } from "../../lib/subject-id.js";
import { type Channel, isPhoneChannel } from "./channel.js";
import type {
  ConversationLock,
  MessageLog,
  RateGate,
  Reply,
  StoredHandling,
  TranscriptEntry,
  TranscriptStore,
} from "./conversation-ports.js";
import { respond } from "./dialog/engine.js";
import { type FlowDeps, readCode } from "./dialog/flow.js";
import { classify } from "./dialog/intent.js";
import { CARD_WARNING, reply } from "./dialog/replies.js";
import type { CustomerProfile, LedgerStore } from "./ledger.js";
import type { SessionStore } from "./session.js";

/** One inbound message, already validated at the edge. */
export interface InboundMessage {
  readonly channel: Channel;
  readonly channelUserId: string;
  readonly messageId: string;
  readonly text?: string;
  readonly actionPayload?: string;
}

/** The outcome of HandleMessage. */
export interface HandledMessage extends StoredHandling {
  readonly duplicate: boolean;
  /** Pseudonymous subject id, for logs. */
  readonly subjectId: string;
}

/** Collaborators of the conversation use case. */
export interface ConversationDeps extends Omit<FlowDeps, "ledger"> {
  readonly userIdSalt: string;
  readonly sessions: SessionStore;
  readonly messages: MessageLog;
  readonly lock: ConversationLock;
  readonly rateGate: RateGate;
  readonly ledger: LedgerStore;
  /** Where transcripts are kept, sealed; none keeps no transcript. */
  readonly transcripts?: TranscriptStore;
  /** How long a handled message id is remembered (ID-3: at least 24 h). */
  readonly dedupeTtlMs: number;
}

/** The ConversationService use case: HandleMessage. */
export interface Conversations {
  handleMessage(message: InboundMessage): Promise<HandledMessage>;
}

/**
 * Creates the conversation use case. Order matters: a repeat is answered from the message log
 * before any limit is consumed (a provider retry must not cost the customer); then the
 * per-subject limit; then the subject's lock, inside which the log is read again so a duplicate
 * that raced the first delivery still runs nothing twice.
 */
export function createConversations(deps: ConversationDeps): Conversations {
  return {
    async handleMessage(message) {
      const subjectId = deriveSubjectId(deps.userIdSalt, message.channel, message.channelUserId);
      const key = `${message.channel}:${message.messageId}`;
      const seen = await deps.messages.get(subjectId, key);
      if (seen) return { ...seen, duplicate: true, subjectId };
      await deps.rateGate.consume(subjectId);
      return deps.lock.run(subjectId, async () => {
        const raced = await deps.messages.get(subjectId, key);
        if (raced) return { ...raced, duplicate: true, subjectId };
        const handling = await handleOnce(deps, subjectId, message);
        await deps.messages.put(subjectId, key, handling, deps.dedupeTtlMs);
        return { ...handling, duplicate: false, subjectId };
      });
    },
  };
}

async function handleOnce(
  deps: ConversationDeps,
  subjectId: string,
  message: InboundMessage,
): Promise<StoredHandling> {
  const { session } = await deps.sessions.start(subjectId, message.channel);
  const sequence = await deps.messages.nextSequence(subjectId, deps.dedupeTtlMs);
  const card = message.text === undefined ? undefined : maskCardNumbers(message.text);
  const profile = await identify(deps, subjectId, message);
  const replies: Reply[] = card?.masked ? [reply(CARD_WARNING)] : [];
  const intent = classify({ ...message, text: card?.text });
  const chatPhone = message.channel === "sms" ? message.channelUserId : undefined;
  const turn = { subjectId, channel: message.channel, intent, text: card?.text, profile, chatPhone };
  replies.push(...(await respond(deps, turn)));
  await deps.transcripts?.append(subjectId, transcriptOf(deps.now(), message, card?.text, replies));
  return { sessionId: session.id, replies, sequence };
}

/**
 * Who is writing: the customer this chat was linked to (by customer number and a code), else, on
 * WhatsApp and SMS, the customer whose registered phone sent it; anyone else is unknown.
 * Sensitive steps ask for a code to the registered phone whichever way the chat was recognised.
 */
async function identify(
  deps: ConversationDeps,
  subjectId: string,
  message: InboundMessage,
): Promise<CustomerProfile | undefined> {
  const linked = await deps.links.find(subjectId);
  if (linked) {
    const customer = await deps.ledger.getCustomer(linked);
    if (customer) return { customer, accounts: await deps.ledger.listAccounts(customer.id) };
  }
  if (!isPhoneChannel(message.channel)) return undefined;
  return deps.ledger.findProfileByPhone(message.channelUserId);
}

/**
 * The transcript lines of one message. A code is kept as "[one-time code]": it is worthless once
 * used, but a transcript is no place for a credential (security.md LOG-1).
 */
function transcriptOf(
  at: number,
  message: InboundMessage,
  text: string | undefined,
  replies: readonly Reply[],
): TranscriptEntry[] {
  const said =
    text === undefined
      ? `[tapped ${message.actionPayload ?? ""}]`
      : readCode(text)
        ? "[one-time code]"
        : text;
  return [
    { direction: "in", text: said, at },
    ...replies.map((r) => ({ direction: "out" as const, text: r.text, at })),
  ];
}
