import type { Channel } from "../core/domain/channel.js";
import type { ChannelLinks } from "../core/domain/links.js";
import { deriveSubjectId } from "../lib/subject-id.js";
import { benchPhone } from "./seed-customers.js";

/**
 * Who the bench customers are on each channel of the webhook benchmark. WhatsApp and Twilio SMS
 * know a customer by phone number; on Messenger, Instagram, Telegram and the web chat a chat
 * identity means nothing to the bank until it is linked (DESIGN.md, Identity), so the core child
 * links every bench customer's identity on those channels before the run. Every sender is then a
 * linked customer asking for a balance, and each channel's row does the same work in the core.
 */

/** The channels the webhook benchmark measures: the five provider webhooks and the web chat. */
export const BENCH_CHANNELS = ["whatsapp", "messenger", "instagram", "telegram", "twilio", "web"] as const;
export type BenchChannelName = (typeof BENCH_CHANNELS)[number];
/** The channels whose replies go to a provider's send API (the web chat's go to a mailbox). */
export type ProviderName = Exclude<BenchChannelName, "web">;

/** A chat identity as the core knows it: its channel and channel user id. */
export interface BenchIdentity {
  readonly channel: Channel;
  readonly userId: string;
}

const digits = (index: number, width: number) => String(index).padStart(width, "0");

/**
 * Bench customer `index` (0 ≤ index < 100,000) on `channel`: the phone number on the phone
 * channels; numeric page-scoped ids on Messenger and Instagram; a private chat id on Telegram; on
 * the web chat a visitor id of the gateway's shape ("web_" and 22 URL-safe characters).
 */
export function benchIdentity(channel: BenchChannelName, index: number): BenchIdentity {
  switch (channel) {
    case "whatsapp":
      return { channel: "whatsapp", userId: benchPhone(index) };
    case "twilio":
      return { channel: "sms", userId: benchPhone(index) };
    case "messenger":
      return { channel: "facebook", userId: `7100000${digits(index, 9)}` };
    case "instagram":
      return { channel: "instagram", userId: `1784200${digits(index, 10)}` };
    case "telegram":
      return { channel: "telegram", userId: String(5_100_000_000 + index) };
    case "web":
      return { channel: "web", userId: `web_bench${digits(index, 17)}` };
  }
}

/** The channels whose identities must be linked before their customers can ask for a balance. */
const LINKED: readonly BenchChannelName[] = ["messenger", "instagram", "telegram", "web"];

/** Links made at once: each commits with an audit entry, which the audit trail serialises anyway. */
const LINK_CONCURRENCY = 4;

/**
 * Links bench customer i's identity on every channel that needs a link to `customerIds[i]`,
 * through the core's own ChannelLinks (each link audited, as the OTP flow would leave it).
 * `salt` is the core's USER_ID_SALT, which turns an identity into its subject id.
 */
export async function linkBenchIdentities(
  links: ChannelLinks,
  salt: string,
  customerIds: readonly string[],
): Promise<void> {
  const work = LINKED.flatMap((name) =>
    customerIds.map((customerId, index) => ({ identity: benchIdentity(name, index), customerId })),
  );
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const { identity, customerId } = work[next++] as (typeof work)[number];
      const subjectId = deriveSubjectId(salt, identity.channel, identity.userId);
      await links.link({ subjectId, channel: identity.channel, customerId });
    }
  };
  await Promise.all(Array.from({ length: LINK_CONCURRENCY }, worker));
}
