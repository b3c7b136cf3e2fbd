import { INSTAGRAM, MESSENGER, type MetaChannel } from "../gateways/messenger/meta-channel.js";
import { startFakeGraph } from "../test/support/fake-graph.js";
import { startFakeSendApi } from "../test/support/fake-messenger.js";
import { startFakeTelegram } from "../test/support/fake-telegram.js";
import { startFakeTwilio } from "../test/support/fake-twilio.js";
import type { ProviderName } from "./bench-identities.js";
import {
  BENCH_INSTAGRAM,
  BENCH_MESSENGER,
  BENCH_TELEGRAM,
  BENCH_TWILIO,
  BENCH_WHATSAPP,
} from "./bench-secrets.js";
import { announceAndAwaitStop } from "./child-server.js";
import { BALANCE_REPLY } from "./webhook-client.js";
import type { SinkCounts } from "./webhook-rows.js";

/**
 * The stand-ins for the channels' send APIs in the webhook benchmark, run as one child process
 * (bench/child-server.ts): the provider fakes of the behaviour suite (test/support/fake-*.ts),
 * each on its own port, each checking what the real API checks (path, token, body shape, limits)
 * and answering as it does — the Cloud API for WhatsApp, the Send API for Messenger and Instagram,
 * the Bot API's sendMessage for Telegram, the Messages API for Twilio. It announces their base
 * URLs, for the gateway child, and answers `stats` with what each accepted: replies answering "what
 * is my balance?" apart from any other, and requests it refused.
 */

/** One fake, seen through what the counts need. */
interface Provider {
  readonly baseUrl: string;
  accepted(): number;
  textAt(index: number): string;
  requests(): number;
  close(): Promise<void>;
}

/** A fake seen as a Provider: `accepted` is its live list of accepted replies. */
function provider<T>(
  fake: { readonly baseUrl: string; close(): Promise<void> },
  accepted: readonly T[],
  text: (reply: T) => string,
  requests: () => number,
): Provider {
  return {
    baseUrl: fake.baseUrl,
    accepted: () => accepted.length,
    textAt: (index) => text(accepted[index] as T),
    requests,
    close: () => fake.close(),
  };
}

async function startProviders(): Promise<Record<ProviderName, Provider>> {
  const graph = await startFakeGraph({
    token: BENCH_WHATSAPP.accessToken,
    phoneNumberId: BENCH_WHATSAPP.phoneNumberId,
    version: BENCH_WHATSAPP.apiVersion,
  });
  const meta = async (settings: typeof BENCH_MESSENGER | typeof BENCH_INSTAGRAM, channel: MetaChannel) => {
    const fake = await startFakeSendApi({
      token: settings.pageAccessToken,
      version: settings.apiVersion,
      appSecret: settings.appSecret,
      textLimit: channel.textLimit,
    });
    return provider(fake, fake.received, (reply) => reply.text, fake.requestCount);
  };
  const telegram = await startFakeTelegram({ token: BENCH_TELEGRAM.botToken });
  const twilio = await startFakeTwilio(BENCH_TWILIO.accountSid, BENCH_TWILIO.authToken);
  return {
    whatsapp: provider(graph, graph.received, (reply) => reply.text, graph.requestCount),
    messenger: await meta(BENCH_MESSENGER, MESSENGER),
    instagram: await meta(BENCH_INSTAGRAM, INSTAGRAM),
    telegram: provider(telegram, telegram.sent, (reply) => reply.text, telegram.sendAttempts),
    twilio: provider(twilio, twilio.messages, (reply) => reply.body, twilio.requestCount),
  };
}

/** Counts of one provider, classifying only the replies accepted since the last call. */
function tally(source: Provider): () => SinkCounts {
  let seen = 0;
  let balance = 0;
  return () => {
    const accepted = source.accepted();
    for (; seen < accepted; seen++) if (BALANCE_REPLY.test(source.textAt(seen))) balance += 1;
    return { delivered: accepted, balance, other: accepted - balance, refused: source.requests() - accepted };
  };
}

async function main(): Promise<void> {
  const providers = await startProviders();
  const names = Object.keys(providers) as ProviderName[];
  const counters = names.map((name) => [name, tally(providers[name])] as const);
  try {
    const baseUrls = Object.fromEntries(names.map((name) => [name, providers[name].baseUrl]));
    await announceAndAwaitStop({ port: Number(new URL(providers.whatsapp.baseUrl).port), baseUrls }, () =>
      Object.fromEntries(counters.map(([name, counts]) => [name, counts()])),
    );
  } finally {
    await Promise.all(names.map((name) => providers[name].close()));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("provider-sink-server:", err);
    process.exit(1);
  },
);
