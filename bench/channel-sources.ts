import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { INSTAGRAM, MESSENGER, type MetaChannel } from "../gateways/messenger/meta-channel.js";
import { simulateMetaInbound } from "../gateways/messenger/simulate.js";
import { telegramTextUpdate, telegramWebhookRequest } from "../gateways/telegram/simulate.js";
import { simulateTwilioMessage } from "../gateways/twilio/simulate.js";
import { createWebchatTokens } from "../gateways/webchat/session-token.js";
import { systemClock } from "../lib/clock.js";
import { type BenchChannelName, benchIdentity } from "./bench-identities.js";
import {
  BENCH_INSTAGRAM,
  BENCH_MESSENGER,
  BENCH_TELEGRAM,
  BENCH_TWILIO,
  BENCH_WEBCHAT,
} from "./bench-secrets.js";
import { CUSTOMER_COUNT } from "./seed-customers.js";
import { type BenchRequest, type RequestSource, WEBHOOK_TEXT, webhookSource } from "./webhook-client.js";

/**
 * What the provider of each channel sends the gateway, for the per-channel rows of the webhook
 * benchmark: requests built by the gateways' own provider simulators (the ones the behaviour suite
 * and `teller chat` use), signed as that provider signs, a new message id every time, senders
 * cycling over the seeded customers' identities on the channel (bench/bench-identities.ts).
 */

/** One channel as the benchmark drives it. */
export interface BenchChannel {
  readonly name: BenchChannelName;
  /** How a request proves it is the provider's, for the method notes of bench/RESULTS.md. */
  readonly authenticity: string;
  /** A fresh source of requests; `forged` signs with a wrong secret (the checks expect a 401). */
  source(forged?: boolean): Promise<RequestSource>;
}

/** The secret every forged request is signed with: no channel's. */
const WRONG_SECRET = "not-the-secret-of-any-bench-channel";

const toBench = (request: { path: string; headers: Readonly<Record<string, string>>; body: string }) => ({
  path: request.path,
  headers: request.headers,
  body: Buffer.from(request.body),
});

/** Customer `seq mod CUSTOMER_COUNT`'s user id on `channel`. */
const sender = (channel: BenchChannelName, seq: number) =>
  benchIdentity(channel, seq % CUSTOMER_COUNT).userId;

function metaChannel(channel: MetaChannel, settings: { appSecret: string; pageId: string }): BenchChannel {
  return {
    name: channel.name,
    authenticity: "X-Hub-Signature-256 = HMAC-SHA256(app secret, raw body)",
    async source(forged) {
      const run = randomBytes(9).toString("base64url");
      return (seq) =>
        toBench(
          simulateMetaInbound({
            channel,
            appSecret: forged ? WRONG_SECRET : settings.appSecret,
            from: sender(channel.name, seq),
            action: { text: WEBHOOK_TEXT },
            pageId: settings.pageId,
            messageId: `m_${run}${seq}`,
          }),
        );
    },
  };
}

const telegram: BenchChannel = {
  name: "telegram",
  authenticity: "X-Telegram-Bot-Api-Secret-Token, compared in constant time",
  async source(forged) {
    // update_id is the message id: a random start keeps every source's apart.
    const first = randomInt(1, 2 ** 40);
    const secret = forged ? WRONG_SECRET : BENCH_TELEGRAM.webhookSecret;
    return (seq) => {
      const update = telegramTextUpdate(
        { chatId: sender("telegram", seq), updateId: first + seq },
        WEBHOOK_TEXT,
      );
      return toBench(telegramWebhookRequest(update, secret));
    };
  },
};

const twilio: BenchChannel = {
  name: "twilio",
  authenticity:
    "X-Twilio-Signature = Base64(HMAC-SHA1(auth token, PUBLIC_BASE_URL + path + sorted form parameters))",
  async source(forged) {
    const run = randomBytes(8).toString("hex");
    const options = {
      accountSid: BENCH_TWILIO.accountSid,
      authToken: forged ? WRONG_SECRET : BENCH_TWILIO.authToken,
      publicBaseUrl: BENCH_TWILIO.publicBaseUrl,
      smsTo: BENCH_TWILIO.smsFrom,
    };
    return (seq) => {
      const messageSid = `SM${run}${seq.toString(16).padStart(16, "0")}`;
      return toBench(
        simulateTwilioMessage(options, { from: sender("twilio", seq), body: WEBHOOK_TEXT, messageSid }),
      );
    };
  },
};

/**
 * The web chat: what the page posts to /chat/messages, with each visitor's session token. The
 * tokens are minted here with the gateway's own minting code and secret; as a renewal, because
 * that is how it mints for a visitor id chosen beforehand (the ids the core child linked). A
 * token lives 30 minutes, so each source mints its own.
 */
const web: BenchChannel = {
  name: "web",
  authenticity: "Authorization: Bearer session token (HS256 JWT, verified by jose)",
  async source(forged) {
    const tokens = createWebchatTokens({
      secret: forged ? WRONG_SECRET : BENCH_WEBCHAT.sessionSecret,
      clock: systemClock,
    });
    const now = Date.now();
    const authorizations = await Promise.all(
      Array.from({ length: CUSTOMER_COUNT }, async (_, index) => {
        const visitorId = benchIdentity("web", index).userId;
        const { token } = await tokens.mint({ visitorId, startedAt: now, expiresAt: now });
        return `Bearer ${token}`;
      }),
    );
    return (seq): BenchRequest => ({
      path: "/chat/messages",
      headers: {
        "content-type": "application/json",
        authorization: authorizations[seq % CUSTOMER_COUNT] as string,
      },
      body: Buffer.from(JSON.stringify({ id: randomUUID(), text: WEBHOOK_TEXT })),
    });
  },
};

const whatsapp: BenchChannel = {
  name: "whatsapp",
  authenticity: "X-Hub-Signature-256 = HMAC-SHA256(app secret, raw body)",
  source: async (forged) => webhookSource(forged ? WRONG_SECRET : undefined),
};

/** Every channel of the benchmark, by name. */
export const BENCH_CHANNEL_SOURCES: Readonly<Record<BenchChannelName, BenchChannel>> = {
  whatsapp,
  messenger: metaChannel(MESSENGER, BENCH_MESSENGER),
  instagram: metaChannel(INSTAGRAM, BENCH_INSTAGRAM),
  telegram,
  twilio,
  web,
};
