#!/usr/bin/env node
import { parseArgs } from "node:util";
import { runAudit } from "./audit.js";
import { runChat } from "./chat.js";
import { runCore, runDev, runGateways } from "./run-core.js";
import { runTelegram } from "./telegram.js";
import { runToken } from "./token.js";

/**
 * The `teller` CLI: the only place that starts servers, handles signals and writes to the
 * console (STYLE.md §1). Commands are named in DESIGN.md (Running it).
 */
const USAGE = `usage: teller <command>

commands:
  dev                          core on embedded defaults, with a demo customer (what \`make run\` starts)
  core                         the core service: gRPC on CORE_PORT, Connect and gRPC-Web on CONNECT_PORT
  gateways                     channel webhooks on GATEWAY_PORT (all channels, or those in GATEWAYS=)
  chat [--channel NAME]        chat with a running gateway as a customer of a channel would: whatsapp
       [--from ID]             (default), messenger, instagram, telegram or twilio; --from is the sender
       [--gateway URL]         in the channel's terms (E.164 on whatsapp and twilio, default the demo
       [--graph-port N]        customer; a PSID, IGSID or chat id, default a made-up one)
  telegram set-webhook         register PUBLIC_BASE_URL/webhooks/telegram with Telegram (TELEGRAM_*)
  token --scopes a,b [--ttl 1h] print a service JWT signed with the development key
  audit verify                 recompute the audit trail's hash chain; exit 1 at the first broken entry
  help                         this text

configuration comes from the environment; see .env.example`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "core":
      return runCore(process.env);
    case "dev":
      return runDev(process.env);
    case "gateways":
      return runGateways(process.env);
    case "chat": {
      const { values } = parseArgs({
        args: rest,
        options: {
          channel: { type: "string" },
          from: { type: "string" },
          gateway: { type: "string" },
          "graph-port": { type: "string" },
        },
      });
      return runChat(process.env, {
        channel: values.channel,
        from: values.from,
        gateway: values.gateway,
        graphPort: values["graph-port"],
      });
    }
    case "token": {
      const { values } = parseArgs({
        args: rest,
        options: { scopes: { type: "string" }, ttl: { type: "string" }, subject: { type: "string" } },
      });
      return runToken(process.env, values);
    }
    case "telegram":
      return runTelegram(process.env, rest);
    case "audit":
      return runAudit(process.env, rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(`teller: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`teller: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
