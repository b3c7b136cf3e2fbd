import { expect } from "chai";
import { createBotApi } from "../../gateways/telegram/bot-api.js";
import { setTelegramWebhook, webhookUrl } from "../../gateways/telegram/set-webhook.js";
import { TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET } from "../support/channels/telegram.js";
import { type FakeTelegram, startFakeTelegram } from "../support/fake-telegram.js";

describe("setTelegramWebhook", () => {
  let fake: FakeTelegram;
  const api = () => createBotApi({ apiBaseUrl: fake.baseUrl, botToken: TELEGRAM_BOT_TOKEN, userAgent: "t" });
  beforeEach(async () => {
    fake = await startFakeTelegram({ token: TELEGRAM_BOT_TOKEN });
  });
  afterEach(() => fake.close());

  it("should register our URL, the secret token and only the update kinds the gateway reads", async () => {
    const result = await setTelegramWebhook({
      api: api(),
      publicBaseUrl: "https://bank.example",
      webhookSecret: TELEGRAM_WEBHOOK_SECRET,
    });
    expect(result).to.deep.equal({
      ok: true,
      url: "https://bank.example/webhooks/telegram",
      description: "Webhook was set",
    });
    expect(fake.webhooks).to.deep.equal([
      {
        url: "https://bank.example/webhooks/telegram",
        secret_token: TELEGRAM_WEBHOOK_SECRET,
        allowed_updates: ["message", "callback_query"],
        drop_pending_updates: false,
      },
    ]);
  });

  it("should report Telegram's refusal in its own words", async () => {
    const result = await setTelegramWebhook({
      api: api(),
      publicBaseUrl: "http://bank.example",
      webhookSecret: TELEGRAM_WEBHOOK_SECRET,
    });
    expect(result).to.deep.include({ ok: false, reason: "telegram 400" });
    expect(result.description).to.match(/HTTPS URL must be provided/);
    expect(fake.webhooks).to.have.length(0);
  });
});

describe("webhookUrl", () => {
  it("should append the webhook path to PUBLIC_BASE_URL, keeping a path prefix", () => {
    expect(webhookUrl("https://bank.example")).to.equal("https://bank.example/webhooks/telegram");
    expect(webhookUrl("https://bank.example:8443/teller/")).to.equal(
      "https://bank.example:8443/teller/webhooks/telegram",
    );
  });

  it("should refuse what is not a plain http(s) base URL", () => {
    for (const bad of [
      "bank.example",
      "ftp://bank.example",
      "https://bank.example/?a=1",
      "https://bank.example/#x",
    ]) {
      expect(() => webhookUrl(bad), bad).to.throw();
    }
  });
});
