import { expect } from "chai";
import { TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET } from "../support/channels/telegram.js";
import { type FakeTelegram, startFakeTelegram } from "../support/fake-telegram.js";
import { Children, childEnv, exitWithin } from "../support/teller-process.js";

describe("teller telegram set-webhook", () => {
  const children = new Children();
  let fake: FakeTelegram;
  before(async () => {
    fake = await startFakeTelegram({ token: TELEGRAM_BOT_TOKEN });
  });
  after(async () => {
    await children.cleanup();
    await fake.close();
  });

  const run = (env: Record<string, string>, args = ["telegram", "set-webhook"]) =>
    exitWithin(
      children.teller(
        args,
        childEnv({
          DATA_DIR: children.tempDir(),
          TELEGRAM_API_BASE_URL: fake.baseUrl,
          TELEGRAM_WEBHOOK_SECRET,
          PUBLIC_BASE_URL: "https://teller.example.test",
          ...env,
        }),
      ),
      60_000,
    );
  const tokenSecret = TELEGRAM_BOT_TOKEN.split(":")[1] as string;

  it("should register the webhook with Telegram and print its answer, never the token", async function () {
    this.timeout(90_000);
    const done = await run({ TELEGRAM_BOT_TOKEN });
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.equal(
      [
        "webhook set: Webhook was set",
        "  url             https://teller.example.test/webhooks/telegram",
        "  allowed_updates message, callback_query",
        "",
      ].join("\n"),
    );
    expect(fake.webhooks.at(-1)).to.deep.equal({
      url: "https://teller.example.test/webhooks/telegram",
      secret_token: TELEGRAM_WEBHOOK_SECRET,
      allowed_updates: ["message", "callback_query"],
      drop_pending_updates: false,
    });
    expect(done.stdout + done.stderr).not.to.include(tokenSecret);
  });

  it("should exit 1 with Telegram's words when it refuses, without printing the token", async function () {
    this.timeout(90_000);
    const wrong = "7000000001:AAanother-token-entirely_0123456789";
    const done = await run({ TELEGRAM_BOT_TOKEN: wrong });
    expect(done.code).to.equal(1);
    expect(done.stderr).to.equal(
      "teller telegram set-webhook: Telegram refused (telegram 401): Unauthorized\n",
    );
    expect(done.stdout + done.stderr).not.to.include(wrong.split(":")[1]);
  });

  it("should exit 2 naming what is missing, and on an unknown subcommand", async function () {
    this.timeout(90_000);
    const missing = await run({ TELEGRAM_BOT_TOKEN, PUBLIC_BASE_URL: "" });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include("PUBLIC_BASE_URL is required");
    const unknown = await run({ TELEGRAM_BOT_TOKEN }, ["telegram", "delete-everything"]);
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include("usage: teller telegram set-webhook");
  });
});
