import { USER_AGENT } from "../gateways/main.js";
import { createBotApi } from "../gateways/telegram/bot-api.js";
import { readTelegramConfig } from "../gateways/telegram/config.js";
import { ALLOWED_UPDATES, setTelegramWebhook, webhookUrl } from "../gateways/telegram/set-webhook.js";
import { ensureDevSecrets } from "../lib/dev-secrets.js";
import { parseDuration } from "../lib/duration.js";
import { type Env, readVar } from "../lib/env.js";

const USAGE = "usage: teller telegram set-webhook   (reads TELEGRAM_* and PUBLIC_BASE_URL)";

/**
 * `teller telegram set-webhook`: registers PUBLIC_BASE_URL + /webhooks/telegram with Telegram,
 * with TELEGRAM_WEBHOOK_SECRET as the secret token and the update kinds the gateway reads, and
 * prints Telegram's answer. Exit 0 when set, 1 when Telegram refused, 2 for bad usage or config.
 * The bot token is read like the gateway reads it and never printed.
 */
export async function runTelegram(env: Env, args: readonly string[]): Promise<number> {
  if (args.length !== 1 || args[0] !== "set-webhook") {
    console.error(USAGE);
    return 2;
  }
  const production = env.NODE_ENV === "production";
  const dev = production ? undefined : await ensureDevSecrets(env.DATA_DIR ?? "./data");
  const problems: string[] = [];
  const config = readTelegramConfig(env, { production, dev, enabled: true }, problems);
  const publicBaseUrl = readVar(env, "PUBLIC_BASE_URL", problems);
  if (publicBaseUrl === undefined) problems.push("PUBLIC_BASE_URL is required: the address Telegram calls");
  else {
    try {
      webhookUrl(publicBaseUrl);
    } catch (err) {
      problems.push(err instanceof TypeError ? "PUBLIC_BASE_URL must be a URL" : (err as Error).message);
    }
  }
  const timeoutMs = parseDuration(readVar(env, "HTTP_TIMEOUT", problems) ?? "10s");
  if (timeoutMs === undefined) problems.push("HTTP_TIMEOUT must be a duration such as 10s");
  if (problems.length > 0 || publicBaseUrl === undefined) {
    console.error(`teller telegram set-webhook:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    return 2;
  }
  const api = createBotApi({
    apiBaseUrl: config.apiBaseUrl,
    botToken: config.botToken,
    timeoutMs,
    userAgent: USER_AGENT,
  });
  const result = await setTelegramWebhook({ api, publicBaseUrl, webhookSecret: config.webhookSecret });
  const said = result.description === undefined ? "" : `: ${result.description}`;
  if (!result.ok) {
    console.error(`teller telegram set-webhook: Telegram refused (${result.reason})${said}`);
    return 1;
  }
  console.log(`webhook set${said}`);
  console.log(`  url             ${result.url}`);
  console.log(`  allowed_updates ${ALLOWED_UPDATES.join(", ")}`);
  return 0;
}
