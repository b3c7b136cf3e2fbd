import { createHmac, randomInt } from "node:crypto";
import { MESSENGER, type MetaChannel } from "../../../gateways/messenger/meta-channel.js";
import {
  metaWebhookBody,
  newMid,
  signedMetaRequest,
  simulateMetaInbound,
} from "../../../gateways/messenger/simulate.js";
import { type FakeSendApi, startFakeSendApi } from "../fake-messenger.js";
import type { ChannelHarness, InboundRequest, ProviderReply } from "./harness.js";

/** The settings a Meta harness gives its channel: distinct per channel, so secrets never cross. */
export interface MetaHarnessSecrets {
  readonly appSecret: string;
  readonly verifyToken: string;
  readonly pageAccessToken: string;
}

const VERSION = "v21.0";
const CHALLENGE = "1158201444";

/** The Messenger harness: PSIDs as users, the Send API fake checking 2000-character texts. */
export function createMessengerHarness(): ChannelHarness {
  return createMetaHarness(MESSENGER, {
    appSecret: "messenger-app-secret-0123456789",
    verifyToken: "messenger-verify-token-0123456789",
    pageAccessToken: "messenger-page-token-0123456789",
  });
}

/**
 * A harness for a Meta messaging channel (Messenger or Instagram): webhooks built and signed as
 * Meta would (gateways/messenger/simulate.ts), and a fake Send API that checks the channel's
 * path, token, appsecret_proof and limits and records what it accepted.
 */
export function createMetaHarness(channel: MetaChannel, secrets: MetaHarnessSecrets): ChannelHarness {
  const prefix = channel.name.toUpperCase();
  let fake: FakeSendApi | undefined;
  const api = (): FakeSendApi => {
    if (fake === undefined) throw new Error(`${channel.name} harness: start() it first`);
    return fake;
  };
  const deliver = (from: string, action: Parameters<typeof simulateMetaInbound>[0]["action"], mid?: string) =>
    simulateMetaInbound({ channel, appSecret: secrets.appSecret, from, action, messageId: mid ?? newMid() });
  return {
    name: channel.name,
    path: channel.path,
    phoneIdentity: false,
    async start() {
      fake = await startFakeSendApi({
        token: secrets.pageAccessToken,
        version: VERSION,
        appSecret: secrets.appSecret,
        textLimit: channel.textLimit,
      });
    },
    async close() {
      await fake?.close();
      fake = undefined;
    },
    env: () => ({
      GATEWAYS: channel.name,
      [`${prefix}_APP_SECRET`]: secrets.appSecret,
      [`${prefix}_VERIFY_TOKEN`]: secrets.verifyToken,
      [`${prefix}_PAGE_ACCESS_TOKEN`]: secrets.pageAccessToken,
      [`${prefix}_API_BASE_URL`]: api().baseUrl,
      [`${prefix}_API_VERSION`]: VERSION,
    }),
    // Page-scoped ids are numeric strings of about 16 digits.
    newUser: () => `${randomInt(1, 10)}${Array.from({ length: 15 }, () => randomInt(0, 10)).join("")}`,
    text: (from, text, messageId) => deliver(from, { text }, messageId),
    tap: (from, payload, title, messageId) => deliver(from, { quickReply: { payload, title } }, messageId),
    unsigned: (request) => withHeaders(request, { "x-hub-signature-256": undefined }),
    forged: (request) => {
      const forged = createHmac("sha256", `not-${secrets.appSecret}`)
        .update(request.body ?? "")
        .digest("hex");
      return withHeaders(request, { "x-hub-signature-256": `sha256=${forged}` });
    },
    // Signed, but the events are not Meta's shape: a sender without an id and a message without a mid.
    malformed: () =>
      signedMetaRequest(
        channel,
        metaWebhookBody(channel, [{ sender: { name: "x" }, message: { text: 7 } }]),
        secrets.appSecret,
      ),
    handshake: () => ({
      good: handshakeRequest(channel, secrets.verifyToken),
      wrong: handshakeRequest(channel, `${secrets.verifyToken}-wrong`),
      expectBody: CHALLENGE,
    }),
    get replies(): readonly ProviderReply[] {
      return fake?.received.map(toProviderReply) ?? [];
    },
    waitForReplies: async (count) => (await api().waitFor(count, 10_000)).map(toProviderReply),
    failNext: (status, count) => api().failNext(Array.from({ length: count }, () => ({ status }))),
  };
}

function toProviderReply(message: FakeSendApi["received"][number]): ProviderReply {
  return { to: message.to, text: message.text, choices: message.choices };
}

function handshakeRequest(channel: MetaChannel, token: string): InboundRequest {
  const query = new URLSearchParams({
    "hub.mode": "subscribe",
    "hub.verify_token": token,
    "hub.challenge": CHALLENGE,
  });
  return { method: "GET", path: `${channel.path}?${query}`, headers: {} };
}

/** The request with headers replaced (`undefined` removes one). */
function withHeaders(request: InboundRequest, changes: Record<string, string | undefined>): InboundRequest {
  const headers: Record<string, string> = { ...request.headers };
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return { ...request, headers };
}
