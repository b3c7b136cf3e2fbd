import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";

/** A reply as the Graph API stand-in received it from the gateway. */
export interface DeliveredReply {
  readonly to: string;
  readonly text: string;
  /** Choices of an interactive message: its button or list-row ids and titles. */
  readonly choices: readonly { id: string; title: string }[];
}

/** Options of startGraphStandIn. */
export interface GraphStandInOptions {
  readonly port: number;
  readonly phoneNumberId: string;
  readonly accessToken: string;
  readonly onReply: (reply: DeliveredReply) => void;
}

/**
 * A local stand-in for the Graph API messages endpoint, for `teller chat`: it takes what the
 * gateway sends to POST /<version>/<phone-number-id>/messages, checks the bearer token as the real
 * API would, and hands each message to `onReply`.
 */
export function startGraphStandIn(options: GraphStandInOptions): Promise<Server> {
  const path = new RegExp(`^/v\\d+\\.\\d+/${options.phoneNumberId}/messages$`);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const answer = (status: number, body: object) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST" || !path.test(req.url ?? ""))
        return answer(404, graphError(100, "Unknown path"));
      if (req.headers.authorization !== `Bearer ${options.accessToken}`)
        return answer(401, graphError(190, "Invalid token"));
      const reply = toReply(Buffer.concat(chunks).toString("utf8"));
      if (!reply) return answer(400, graphError(100, "Invalid parameter"));
      options.onReply(reply);
      answer(200, {
        messaging_product: "whatsapp",
        contacts: [{ input: reply.to, wa_id: reply.to.slice(1) }],
        messages: [{ id: `wamid.${randomBytes(12).toString("base64url")}` }],
      });
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, "127.0.0.1", () => resolve(server));
  });
}

interface SendBody {
  to?: string;
  type?: string;
  text?: { body?: string };
  interactive?: {
    body?: { text?: string };
    action?: {
      buttons?: { reply?: { id?: string; title?: string } }[];
      sections?: { rows?: { id?: string; title?: string }[] }[];
    };
  };
}

function toReply(raw: string): DeliveredReply | undefined {
  try {
    const body = JSON.parse(raw) as SendBody;
    if (typeof body.to !== "string") return undefined;
    if (body.type === "text" && typeof body.text?.body === "string")
      return { to: body.to, text: body.text.body, choices: [] };
    if (body.type !== "interactive") return undefined;
    const action = body.interactive?.action;
    const buttons = (action?.buttons ?? []).map((b) => ({
      id: b.reply?.id ?? "",
      title: b.reply?.title ?? "",
    }));
    const rows = (action?.sections ?? [])
      .flatMap((s) => s.rows ?? [])
      .map((r) => ({ id: r.id ?? "", title: r.title ?? "" }));
    return { to: body.to, text: body.interactive?.body?.text ?? "", choices: [...buttons, ...rows] };
  } catch {
    return undefined;
  }
}

function graphError(code: number, message: string) {
  return { error: { message, type: "OAuthException", code, fbtrace_id: "teller-chat" } };
}
