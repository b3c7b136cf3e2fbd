import { createHmac, randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { devSmsPath, readDevSmsFile } from "../core/stores/otp/dev-outbox-sender.js";
import { DEV_GRAPH_PORT } from "../gateways/config.js";
import { deriveDevSecret, ensureDevSecrets } from "../lib/dev-secrets.js";
import type { Env } from "../lib/env.js";
import { type DeliveredReply, startGraphStandIn } from "./chat-graph.js";
import { DEMO_PHONE } from "./seed-demo.js";

/** Options of `teller chat`. */
export interface ChatArgs {
  from?: string;
  gateway?: string;
  graphPort?: string;
}

const DEV_PHONE_NUMBER_ID = "100000000000001";

/**
 * `teller chat`: plays WhatsApp against a running gateway, as Meta would. Each line typed is sent
 * as a signed webhook (X-Hub-Signature-256 with the app secret); replies arrive at a local
 * stand-in for the Graph API and are printed, quick replies as numbered choices to answer with
 * their number.
 */
export async function runChat(env: Env, args: ChatArgs): Promise<number> {
  const from = args.from ?? DEMO_PHONE;
  if (!/^\+[1-9]\d{7,14}$/.test(from)) {
    console.error("teller chat: --from must be an E.164 number such as +447700900123");
    return 2;
  }
  const dev = env.NODE_ENV === "production" ? undefined : await ensureDevSecrets(env.DATA_DIR ?? "./data");
  const secret = (name: string) => env[name] ?? (dev ? deriveDevSecret(dev, name) : undefined);
  const appSecret = secret("WHATSAPP_APP_SECRET");
  const accessToken = secret("WHATSAPP_ACCESS_TOKEN");
  if (!appSecret || !accessToken) {
    console.error(
      "teller chat: set WHATSAPP_APP_SECRET and WHATSAPP_ACCESS_TOKEN (development derives them)",
    );
    return 2;
  }
  const phoneNumberId = env.WHATSAPP_PHONE_NUMBER_ID ?? DEV_PHONE_NUMBER_ID;
  const gateway = (args.gateway ?? `http://127.0.0.1:${env.GATEWAY_PORT ?? 3000}`).replace(/\/+$/, "");
  let choices: DeliveredReply["choices"] = [];
  const graph = await startGraphStandIn({
    port: Number(args.graphPort ?? DEV_GRAPH_PORT),
    phoneNumberId,
    accessToken,
    onReply: (reply) => {
      console.log(`Teller: ${reply.text}`);
      for (const [i, c] of reply.choices.entries()) console.log(`  ${i + 1}. ${c.title}`);
      if (reply.choices.length > 0) choices = reply.choices;
    },
  });
  console.log(`Chatting as ${from} through ${gateway}/webhooks/whatsapp. Type a message; Ctrl-D to quit.`);
  // Codes go by SMS to the registered phone, never into the chat; in development the core writes
  // them to a file under DATA_DIR instead, and they are shown here as the phone would show them.
  const smsFile = devSmsPath(env.DATA_DIR ?? "./data");
  let smsOffset = readDevSmsFile(smsFile, Number.MAX_SAFE_INTEGER).offset;
  const showSms = () => {
    const fresh = readDevSmsFile(smsFile, smsOffset);
    smsOffset = fresh.offset;
    for (const sms of fresh.lines) console.log(`[SMS to ${sms.to}] ${sms.text}`);
  };
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    const text = line.trim();
    if (text === "") continue;
    const chosen = /^\d+$/.test(text) ? choices[Number(text) - 1] : undefined;
    const body = webhook({ from, phoneNumberId, text: chosen ? undefined : text, choice: chosen });
    const signature = `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}`;
    const res = await fetch(`${gateway}/webhooks/whatsapp`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-hub-signature-256": signature },
      body,
    }).catch((err: Error) => ({ status: 0, statusText: err.message }));
    if (res.status !== 200)
      console.log(`(the gateway answered ${res.status || res.statusText}; is \`teller dev\` running?)`);
    showSms();
  }
  graph.close();
  return 0;
}

/** A WhatsApp Cloud webhook body for one text message or one reply-button tap (channels.md §1.4). */
function webhook(m: {
  from: string;
  phoneNumberId: string;
  text?: string;
  choice?: { id: string; title: string };
}) {
  const message = {
    from: m.from.slice(1),
    id: `wamid.${randomBytes(16).toString("base64url")}`,
    timestamp: String(Math.floor(Date.now() / 1000)),
    ...(m.choice
      ? { type: "interactive", interactive: { type: "button_reply", button_reply: m.choice } }
      : { type: "text", text: { body: m.text } }),
  };
  return JSON.stringify({
    object: "whatsapp_business_account",
    entry: [
      {
        id: "0",
        changes: [
          {
            field: "messages",
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550000000", phone_number_id: m.phoneNumberId },
              contacts: [{ profile: { name: "Teller chat" }, wa_id: m.from.slice(1) }],
              messages: [message],
            },
          },
        ],
      },
    ],
  });
}
