import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { signMetaBody } from "../gateways/messenger/simulate.js";
import { BENCH_WHATSAPP } from "./bench-secrets.js";
import type { BenchCall } from "./load.js";
import { benchPhone, CUSTOMER_COUNT } from "./seed-customers.js";

/**
 * The webhook benchmark's client side, as a provider's webhook delivery would load a gateway:
 * requests built by a RequestSource (signed WhatsApp Cloud API bodies here, the other channels'
 * in bench/channel-sources.ts), a new message id every time, senders cycling over the seeded
 * customers, POSTed over HTTP/1.1 keep-alive connections (one node:http Agent per row with as
 * many sockets as requests in flight).
 */

/** One request as its provider makes it: path, headers (signature included) and the exact bytes. */
export interface BenchRequest {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Builds request `seq` of a row: each call a message id never used before. */
export type RequestSource = (seq: number) => BenchRequest;

/** Size of every webhook body, in bytes: about what a Cloud API text notification with a contact weighs. */
export const WEBHOOK_BYTES = 1_024;
/** What every bench customer asks. */
export const WEBHOOK_TEXT = "what is my balance?";
/** How every answer to WEBHOOK_TEXT begins: any other reply (a refusal, a prompt) is unexpected. */
export const BALANCE_REPLY = /^Your balance is /;
/** Path of the WhatsApp route, on the gateway and on the bare handler. */
export const WEBHOOK_PATH = "/webhooks/whatsapp";
/** Longest wait for one answer before the request counts as failed. */
const REQUEST_TIMEOUT_MS = 10_000;

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

/**
 * A fresh source of signed WhatsApp webhooks: each call gives sequence `seq` a wamid never used
 * before. `appSecret` other than the app's own forges them (the checks expect a 401).
 */
export function webhookSource(appSecret: string = BENCH_WHATSAPP.appSecret): RequestSource {
  const run = randomBytes(8);
  return (seq) => {
    const id = Buffer.alloc(16);
    run.copy(id, 0);
    id.writeBigUInt64BE(BigInt(seq), 8);
    const wamid = `wamid.HBgM${id.toString("base64")}`;
    const body = Buffer.from(webhookBody(seq, wamid, Math.floor(Date.now() / 1000)));
    const headers = {
      "content-type": "application/json",
      "user-agent": "facebookexternalua",
      "x-hub-signature-256": signMetaBody(body, appSecret),
    };
    return { path: WEBHOOK_PATH, headers, body };
  };
}

/** True for the statuses a provider takes as delivered: 200, and 202 from the web chat. */
export function accepted(status: number | string): boolean {
  return typeof status === "number" && status >= 200 && status < 300;
}

/** The HTTP status of one POST, or a short label of the transport failure (ECONNRESET, TIMEOUT). */
export function postRequest(agent: Agent, port: number, bench: BenchRequest): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: "127.0.0.1",
        port,
        path: bench.path,
        method: "POST",
        headers: { ...bench.headers, "content-length": bench.body.length },
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
    req.end(bench.body);
  });
}

/** A row's client: the BenchCall, how many requests were accepted (warm-up included), and close(). */
export interface WebhookLoad {
  readonly call: BenchCall;
  /** Requests accepted (2xx) so far, warm-up included: each owes the sink one reply. */
  okCount(): number;
  close(): void;
}

/** A keep-alive client of `port` with `connections` sockets, sending the requests of `next`. */
export function createWebhookLoad(port: number, connections: number, next: RequestSource): WebhookLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  let ok = 0;
  return {
    call: async (seq) => {
      const status = await postRequest(agent, port, next(seq));
      if (accepted(status)) {
        ok += 1;
        return undefined;
      }
      return typeof status === "number" ? `HTTP_${status}` : status;
    },
    okCount: () => ok,
    close: () => agent.destroy(),
  };
}
