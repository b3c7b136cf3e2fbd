import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { announceAndAwaitStop } from "./child-server.js";
import { BENCH_WHATSAPP } from "./whatsapp-bench-secrets.js";

/**
 * The stand-in for the Graph API in the webhook benchmark, run as a child process
 * (bench/child-server.ts): it accepts POST /<version>/<phone number id>/messages with the bearer
 * token, counts each reply (those answering "what is my balance?" apart from any other), and
 * answers 200 with a wamid as the Cloud API does. Anything else is refused (400 / 401) and counted.
 * The parent reads the counters through the `stats` line of the child protocol.
 */

const PATH = `/${BENCH_WHATSAPP.apiVersion}/${BENCH_WHATSAPP.phoneNumberId}/messages`;
const AUTHORIZATION = `Bearer ${BENCH_WHATSAPP.accessToken}`;
const BALANCE = /^Your balance is /;
const RUN = randomBytes(6).toString("hex");

/** What the sink has seen since it started. */
interface SinkCounts {
  /** Replies accepted with 200. */
  delivered: number;
  /** Accepted replies whose text is a balance: the answer every bench webhook should get. */
  balance: number;
  /** Accepted replies with any other text (a refusal such as "You are sending messages faster…"). */
  other: number;
  /** Requests refused for a wrong method, path, token or body. */
  refused: number;
}

function createSink(counts: SinkCounts): Server {
  return createServer((req, res) => {
    handle(req, res, counts).catch(() => {
      counts.refused += 1;
      answer(res, 500, { error: { message: "sink failure", code: 1 } });
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, counts: SinkCounts): Promise<void> {
  const body = await readBody(req);
  if (req.method !== "POST" || req.url !== PATH || req.headers.authorization !== AUTHORIZATION) {
    counts.refused += 1;
    return answer(res, req.headers.authorization === AUTHORIZATION ? 400 : 401, {
      error: { message: "refused by the bench sink", code: 100 },
    });
  }
  const message = JSON.parse(body) as {
    to?: string;
    text?: { body?: string };
    interactive?: { body?: { text?: string } };
  };
  const text = message.text?.body ?? message.interactive?.body?.text ?? "";
  counts.delivered += 1;
  if (BALANCE.test(text)) counts.balance += 1;
  else counts.other += 1;
  answer(res, 200, {
    messaging_product: "whatsapp",
    contacts: [{ input: message.to, wa_id: message.to?.slice(1) }],
    messages: [{ id: `wamid.SINK${RUN}${counts.delivered}` }],
  });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function main(): Promise<void> {
  const counts: SinkCounts = { delivered: 0, balance: 0, other: 0, refused: 0 };
  const server = createSink(counts);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  await announceAndAwaitStop({ port: (server.address() as AddressInfo).port }, () => ({ ...counts }));
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error("graph-sink-server:", err);
    process.exit(1);
  },
);
