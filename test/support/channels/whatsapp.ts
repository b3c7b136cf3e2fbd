import { randomBytes } from "node:crypto";
import { type FakeGraph, startFakeGraph } from "../fake-graph.js";
import {
  ACCESS_TOKEN,
  APP_SECRET,
  PHONE_NUMBER_ID,
  sign,
  VERIFY_TOKEN,
  whatsAppBody,
  whatsAppValue,
} from "../gateway.js";
import type { ChannelHarness, InboundRequest, ProviderReply } from "./harness.js";

const PATH = "/webhooks/whatsapp";

function post(body: string, signature?: string): InboundRequest {
  return {
    method: "POST",
    path: PATH,
    headers: {
      "content-type": "application/json",
      ...(signature ? { "x-hub-signature-256": signature } : {}),
    },
    body,
  };
}

/** WhatsApp Cloud API as Meta delivers it (channels.md §1), replies into a fake Graph API. */
export function whatsAppHarness(): ChannelHarness {
  let graph: FakeGraph | undefined;
  const live = () => {
    if (!graph) throw new Error("whatsAppHarness: start() first");
    return graph;
  };
  const replies = (): ProviderReply[] =>
    live().received.map((m) => ({ to: m.to, text: m.text, choices: m.choices }));
  const deliver = (from: string, message: Record<string, unknown>) => {
    const body = whatsAppBody({ from: from.slice(1), timestamp: "1749416383", ...message });
    return post(body, sign(body));
  };
  const wamid = () => `wamid.${randomBytes(9).toString("hex")}`;
  return {
    name: "whatsapp",
    path: PATH,
    phoneIdentity: true,
    async start() {
      graph = await startFakeGraph({ token: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID, version: "v21.0" });
    },
    close: async () => graph?.close(),
    env: () => ({
      WHATSAPP_APP_SECRET: APP_SECRET,
      WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
      WHATSAPP_ACCESS_TOKEN: ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: PHONE_NUMBER_ID,
      WHATSAPP_API_BASE_URL: live().baseUrl,
    }),
    newUser: (phone) =>
      phone ?? `+4477009${String(randomBytes(3).readUIntBE(0, 3) % 100_000).padStart(5, "0")}`,
    text: (from, text, id = wamid()) => deliver(from, { id, type: "text", text: { body: text } }),
    tap: (from, payload, title, id = wamid()) =>
      deliver(from, {
        id,
        type: "interactive",
        interactive: { type: "button_reply", button_reply: { id: payload, title } },
      }),
    unsigned: (request) => post(request.body ?? ""),
    forged: (request) => post(request.body ?? "", sign(request.body ?? "", "not-the-app-secret")),
    malformed: () => {
      const { body } = whatsAppValue({ messages: [{ nonsense: true }] });
      return post(body, sign(body));
    },
    handshake: () => ({
      good: {
        method: "GET",
        path: `${PATH}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`,
        headers: {},
      },
      wrong: {
        method: "GET",
        path: `${PATH}?hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1158201444`,
        headers: {},
      },
      expectBody: "1158201444",
    }),
    get replies() {
      return replies();
    },
    waitForReplies: async (count) => {
      await live().waitFor(count);
      return replies();
    },
    failNext: (status, count) => live().failNext(Array.from({ length: count }, () => ({ status }))),
  };
}
