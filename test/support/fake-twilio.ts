import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** One message the fake accepted. */
export interface FakeTwilioMessage {
  readonly to: string;
  readonly from: string;
  readonly body: string;
}

/** A local stand-in for Twilio's Messages API, for TWILIO_API_BASE_URL in tests. */
export interface FakeTwilio {
  readonly baseUrl: string;
  readonly messages: FakeTwilioMessage[];
  /** Makes the next answers use this status (and a Twilio-style JSON error) instead of 201. */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

/**
 * Starts a fake Twilio on port 0 that checks what the real API requires: POST to
 * `/2010-04-01/Accounts/<sid>/Messages.json`, HTTP basic auth `<sid>:<token>`, a form body with
 * To, From and Body. It answers 201 with a message sid and records the message; 401 otherwise.
 */
export async function startFakeTwilio(accountSid: string, authToken: string): Promise<FakeTwilio> {
  const messages: FakeTwilioMessage[] = [];
  let failure: number | undefined;
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString("base64")}`;
  const server: Server = createServer(async (req, res) => {
    const body = new URLSearchParams(await readBody(req));
    const answer = (status: number, json: object) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    };
    if (req.method !== "POST" || req.url !== `/2010-04-01/Accounts/${accountSid}/Messages.json`) {
      return answer(404, { code: 20404, message: "not found", status: 404 });
    }
    if (req.headers.authorization !== expectedAuth)
      return answer(401, { code: 20003, message: "Authenticate", status: 401 });
    if (failure !== undefined) return answer(failure, { code: 20500, message: "failure", status: failure });
    const [to, from, text] = [body.get("To"), body.get("From"), body.get("Body")];
    if (
      !req.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") ||
      !to ||
      !from ||
      !text
    ) {
      return answer(400, { code: 21602, message: "Message body is required", status: 400 });
    }
    messages.push({ to, from, body: text });
    answer(201, {
      sid: `SM${"0".repeat(32 - String(messages.length).length)}${messages.length}`,
      status: "queued",
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    messages,
    failWith: (status) => {
      failure = status;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
