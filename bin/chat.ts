import { createInterface } from "node:readline";
import { devSmsPath, readDevSmsFile } from "../core/stores/otp/dev-outbox-sender.js";
import { DEV_GRAPH_PORT, type GatewayConfig, loadGatewayConfig } from "../gateways/config.js";
import { ensureDevSecrets } from "../lib/dev-secrets.js";
import { ConfigError, type Env, readVar } from "../lib/env.js";
import { CHANNEL_SPECS, CHAT_CHANNELS, type ChatChannel, isChatChannel } from "./chat-channel.js";
import { type DeliveredReply, startProviderStandIn } from "./chat-graph.js";
import type { ChannelPlayer, ChatAction } from "./chat-player.js";

/** Options of `teller chat`. */
export interface ChatArgs {
  channel?: string;
  from?: string;
  gateway?: string;
  graphPort?: string;
}

/**
 * `teller chat`: plays a channel's provider against a running gateway. Each line typed is posted
 * to the channel's webhook as the provider would post it, signed (or carrying the secret) with the
 * same development secrets the gateway derives, since both read them through loadGatewayConfig;
 * replies arrive at a local stand-in for the provider's send API and are printed, quick replies as
 * numbered choices to answer with their number.
 */
export async function runChat(env: Env, args: ChatArgs): Promise<number> {
  const checked = checkArgs(args);
  if (typeof checked === "string") {
    console.error(`teller chat: ${checked}`);
    return 2;
  }
  const { channel, from, port } = checked;
  const config = await channelConfig(env, channel);
  if (!config) return 2;
  const gateway = (args.gateway ?? `http://127.0.0.1:${config.gatewayPort}`).replace(/\/+$/, "");
  // Twilio signs the URL it was told to call: PUBLIC_BASE_URL when set, else the gateway itself.
  const publicBaseUrl =
    readVar(env, "PUBLIC_BASE_URL", []) === undefined ? gateway : config.twilio.publicBaseUrl;
  const player = CHANNEL_SPECS[channel].player(config, from, publicBaseUrl);
  let menu: DeliveredReply | undefined;
  const onReply = (reply: DeliveredReply) => {
    console.log(`Teller: ${reply.text}`);
    for (const [i, c] of reply.choices.entries()) console.log(`  ${i + 1}. ${c.title}`);
    if (reply.choices.length > 0) menu = reply;
  };
  const standIn = await startProviderStandIn({ port, api: player.api, onReply }).catch(portInUse(port));
  if (!standIn) return 1;
  console.log(
    `Chatting as ${from} on ${channel}${defaultNote(channel, args.from)} through ${gateway}${player.path}.`,
  );
  console.log("Type a message; Ctrl-D to quit.");
  const showSms = smsWatcher(env.DATA_DIR ?? "./data");
  for await (const line of createInterface({ input: process.stdin, terminal: false })) {
    const text = line.trim();
    if (text === "") continue;
    const tap = /^\d+$/.test(text) ? menu?.choices[Number(text) - 1] : undefined;
    const action: ChatAction = tap && menu ? { tap, under: menu } : { text };
    const status = await post(gateway, player, action);
    if (status !== 200) console.log(`(the gateway answered ${status}; is \`teller dev\` running?)`);
    showSms();
  }
  standIn.close();
  return 0;
}

/** The channel, the sender and the stand-in's port, or the one-line problem with them. */
function checkArgs(args: ChatArgs): { channel: ChatChannel; from: string; port: number } | string {
  const channel = args.channel ?? "whatsapp";
  if (!isChatChannel(channel)) return `--channel must be one of ${CHAT_CHANNELS.join(", ")}`;
  const spec = CHANNEL_SPECS[channel];
  const from = args.from ?? spec.defaultFrom;
  if (!spec.fromPattern.test(from)) return `--from on ${channel} must be ${spec.fromHint}`;
  const port = Number(args.graphPort ?? DEV_GRAPH_PORT);
  if (!/^\d{1,5}$/.test(args.graphPort ?? "0") || port > 65_535)
    return "--graph-port must be a port number (0-65535)";
  return { channel, from, port };
}

/**
 * The gateway's own config, read by its own loader with only `channel` on: the secrets it derives
 * in development (or reads from the environment) are the ones its webhook checks. Problems are
 * printed one a line; undefined then.
 */
async function channelConfig(env: Env, channel: ChatChannel): Promise<GatewayConfig | undefined> {
  try {
    const dev = env.NODE_ENV === "production" ? undefined : await ensureDevSecrets(env.DATA_DIR ?? "./data");
    return loadGatewayConfig({ ...env, GATEWAYS: channel }, dev);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) console.error(`teller chat: config: ${problem}`);
    return undefined;
  }
}

/** Turns "port in use" into one line and no server; any other failure stays an error. */
function portInUse(port: number) {
  return (err: NodeJS.ErrnoException): undefined => {
    if (err.code !== "EADDRINUSE") throw err;
    console.error(
      `teller chat: port ${port} is in use (another teller chat?); choose one with --graph-port ` +
        "and point the gateway's *_API_BASE_URL at it",
    );
    return undefined;
  };
}

/** Says who a made-up default sender is, so the user knows the bank does not know them yet. */
function defaultNote(channel: ChatChannel, given: string | undefined): string {
  if (given !== undefined || channel === "whatsapp" || channel === "twilio") return "";
  return " (a made-up id; --from to be someone else)";
}

/** Posts the provider's request for `action`; the HTTP status, or the reason no answer came. */
async function post(gateway: string, player: ChannelPlayer, action: ChatAction): Promise<number | string> {
  const request = player.inbound(action);
  try {
    const res = await fetch(`${gateway}${request.path}`, {
      method: "POST",
      headers: request.headers,
      body: request.body,
    });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Codes go by SMS to the registered phone, never into the chat; in development the core writes
 * them to a file under DATA_DIR instead, and the returned function prints the new ones as the
 * phone would show them.
 */
function smsWatcher(dataDir: string): () => void {
  const file = devSmsPath(dataDir);
  let offset = readDevSmsFile(file, Number.MAX_SAFE_INTEGER).offset;
  return () => {
    const fresh = readDevSmsFile(file, offset);
    offset = fresh.offset;
    for (const sms of fresh.lines) console.log(`[SMS to ${sms.to}] ${sms.text}`);
  };
}
