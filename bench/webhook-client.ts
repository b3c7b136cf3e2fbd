import { createHmac, randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import type { BenchCall } from "./load.js";
import { benchPhone, CUSTOMER_COUNT } from "./seed-customers.js";
import { BENCH_WHATSAPP } from "./whatsapp-bench-secrets.js";

/**
 * The webhook benchmark's client side, as Meta's webhook delivery would load a gateway: signed
 * WhatsApp Cloud API bodies of WEBHOOK_BYTES each, a new wamid every time, senders cycling over the
 * seeded customers, POSTed over HTTP/1.1 keep-alive connections (one node:http Agent per row with
 * as many sockets as requests in flight).
 */

/** Size of every webhook body, in bytes: about what a Cloud API text notification with a contact weighs. */
export const WEBHOOK_BYTES = 1_024;
/** What every bench customer asks. */
export const WEBHOOK_TEXT = "what is my balance?";
/** Path of the WhatsApp route on the gateway (the bare handler answers any path). */
export const WEBHOOK_PATH = "/webhooks/whatsapp";
/** Longest wait for one answer before the request counts as failed. */
const REQUEST_TIMEOUT_MS = 10_000;

/** One signed webhook: the exact bytes and their X-Hub-Signature-256. */
export interface SignedWebhook {
  readonly body: Buffer;
  readonly signature: string;
}

/**
 * The body of a Cloud API text notification (channels.md §1.4) from bench customer
 * `seq mod CUSTOMER_COUNT` with wamid `wamid`, padded to exactly WEBHOOK_BYTES with a contact
 * profile field the gateway ignores, as it ignores any field Meta adds.
 */
export function webhookBody(seq: number, wamid: string, timestamp: number): string {
  const from = benchPhone(seq % CUSTOMER_COUNT).slice(1);
  const name = `Bench Customer ${seq % CUSTOMER_COUNT}`;
  const build = (padding: string) =>
    JSON.stringify({
      object: "whatsapp_business_account",
      entry: [
        {
          id: "102290129340398",
          changes: [
            {
              value: {
                messaging_product: "whatsapp",
                metadata: {
                  display_phone_number: BENCH_WHATSAPP.displayPhoneNumber,
                  phone_number_id: BENCH_WHATSAPP.phoneNumberId,
                },
                contacts: [{ profile: { name, padding }, wa_id: from }],
                messages: [
                  {
                    from,
                    id: wamid,
                    timestamp: String(timestamp),
                    text: { body: WEBHOOK_TEXT },
                    type: "text",
                  },
                ],
              },
              field: "messages",
            },
          ],
        },
      ],
    });
  const bare = build("");
  return build("x".repeat(Math.max(0, WEBHOOK_BYTES - Buffer.byteLength(bare))));
}

/** X-Hub-Signature-256 of `body`: `sha256=` and the hex HMAC-SHA256 keyed with the app secret. */
export function hubSignature(body: Buffer, appSecret: string = BENCH_WHATSAPP.appSecret): string {
  return `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}`;
}

/** A fresh source of signed webhooks: each call gives sequence `seq` a wamid never used before. */
export function webhookSource(): (seq: number) => SignedWebhook {
  const run = randomBytes(8);
  return (seq) => {
    const id = Buffer.alloc(16);
    run.copy(id, 0);
    id.writeBigUInt64BE(BigInt(seq), 8);
    const wamid = `wamid.HBgM${id.toString("base64")}`;
    const body = Buffer.from(webhookBody(seq, wamid, Math.floor(Date.now() / 1000)));
    return { body, signature: hubSignature(body) };
  };
}

/** The HTTP status of one POST, or a short label of the transport failure (ECONNRESET, TIMEOUT). */
export function postWebhook(agent: Agent, port: number, webhook: SignedWebhook): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        path: WEBHOOK_PATH,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": webhook.body.length,
          "user-agent": "facebookexternalua",
          "x-hub-signature-256": webhook.signature,
        },
      },
      (res) => {
        res.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "RESPONSE_ERROR"));
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.resume();
      },
    );
    req.setTimeout(REQUEST_TIMEOUT_MS, () =>
      req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })),
    );
    req.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "NETWORK_ERROR"));
    req.end(webhook.body);
  });
}

/** A row's client: the BenchCall, how many requests were answered 200 (warm-up included), and close(). */
export interface WebhookLoad {
  readonly call: BenchCall;
  /** Requests answered 200 so far, warm-up included: each owes the sink one reply. */
  okCount(): number;
  close(): void;
}

/** A keep-alive client of `port` with `connections` sockets, sending fresh signed webhooks. */
export function createWebhookLoad(port: number, connections: number): WebhookLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const next = webhookSource();
  let ok = 0;
  return {
    call: async (seq) => {
      const status = await postWebhook(agent, port, next(seq));
      if (status === 200) {
        ok += 1;
        return undefined;
      }
      return typeof status === "number" ? `HTTP_${status}` : status;
    },
    okCount: () => ok,
    close: () => agent.destroy(),
  };
}
