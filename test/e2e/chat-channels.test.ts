import { expect } from "chai";
import { DEMO_PHONE } from "../../bin/seed-demo.js";
import { freePort } from "../support/redis.js";
import { Children, childEnv, exitWithin, type Running } from "../support/teller-process.js";

/** The address Twilio is told to call; both processes read it, as behind a proxy. */
const PUBLIC_BASE_URL = "https://teller.example";
const NOT_A_CUSTOMER = /Teller: I can only help customers of the bank[^\n]*link my account/;
const ASKS_CUSTOMER_NUMBER = /Teller: To link this chat to your bank profile, send me your customer number/;

/** What the banner of `teller dev` names. */
interface Banner {
  readonly gatewayPort: number;
  readonly customerNumber: string;
}

function parseBanner(stderr: string): Banner | undefined {
  const gateway = /Gateways \(webhooks\):\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1];
  const customer = /customer number (cus_[A-Za-z0-9_-]{22})/.exec(stderr)?.[1];
  return gateway && customer ? { gatewayPort: Number(gateway), customerNumber: customer } : undefined;
}

/** The runner's environment without any channel's settings, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = childEnv(extra);
  for (const name of Object.keys(env)) {
    if (/^(TELEGRAM|MESSENGER|INSTAGRAM|TWILIO)_/.test(name) && !(name in extra)) delete env[name];
  }
  return env;
}

describe("teller chat --channel plays each provider against teller dev (processes)", function () {
  this.timeout(60_000);
  const children = new Children();
  let dataDir: string;
  let graphPort: number;
  let banner: Banner;

  before(async () => {
    dataDir = children.tempDir();
    graphPort = await freePort();
    const standIn = `http://127.0.0.1:${graphPort}`;
    const dev = children.teller(
      ["dev"],
      cleanEnv({
        DATA_DIR: dataDir,
        CORE_PORT: "0",
        CONNECT_PORT: "0",
        GATEWAY_PORT: "0",
        ADMIN_PORT: "0",
        NODE_ENV: "development",
        PUBLIC_BASE_URL,
        WHATSAPP_API_BASE_URL: standIn,
        MESSENGER_API_BASE_URL: standIn,
        INSTAGRAM_API_BASE_URL: standIn,
        TELEGRAM_API_BASE_URL: standIn,
        TWILIO_API_BASE_URL: standIn,
      }),
    );
    banner = await dev.waitFor("the banner of teller dev", (out) => parseBanner(out.stderr));
  });

  after(() => children.cleanup());

  /** Starts `teller chat` with `args` and waits for its prompt. */
  const startChat = async (args: readonly string[]): Promise<Running> => {
    const chat = children.teller(
      [
        "chat",
        ...args,
        "--gateway",
        `http://127.0.0.1:${banner.gatewayPort}`,
        "--graph-port",
        String(graphPort),
      ],
      cleanEnv({ DATA_DIR: dataDir, NODE_ENV: "development", PUBLIC_BASE_URL }),
      { stdin: true },
    );
    await chat.waitFor("the chat prompt", (out) =>
      out.stdout.includes("Ctrl-D to quit") ? true : undefined,
    );
    return chat;
  };

  /** Types a line and waits until the output after it matches `pattern`; returns that output. */
  const exchange = async (chat: Running, line: string, pattern: RegExp): Promise<string> => {
    const before = chat.out.stdout.length;
    chat.write(`${line}\n`);
    return chat.waitFor(`${pattern} after "${line}"`, (out) => {
      const added = out.stdout.slice(before);
      return pattern.test(added) ? added : undefined;
    });
  };

  /** Ends the chat's input and expects a clean exit, which frees the stand-in's port for the next. */
  const finish = async (chat: Running): Promise<void> => {
    chat.endInput();
    const finished = await exitWithin(chat, 30_000);
    expect(finished.code, finished.stderr).to.equal(0);
    expect(finished.stdout).to.not.include("the gateway answered");
  };

  it("should answer a stranger on Telegram, ask for the customer number, and cancel on the tapped button", async () => {
    const chat = await startChat(["--channel", "telegram"]);
    expect(chat.out.stdout).to.match(/^Chatting as 700000001 on telegram .*\/webhooks\/telegram\.$/m);
    await exchange(chat, "what is my balance?", NOT_A_CUSTOMER);
    const asked = await exchange(chat, "link my account", /1\. Cancel/);
    expect(asked).to.match(ASKS_CUSTOMER_NUMBER);
    // "1" taps the inline button: a callback_query, which the gateway answers and the core acts on.
    expect(await exchange(chat, "1", /Teller: /)).to.include("Teller: Cancelled. Nothing was changed.");
    await finish(chat);
  });

  it("should link a Messenger user to the demo profile with the customer number and the SMS code", async () => {
    const chat = await startChat(["--channel", "messenger"]);
    expect(chat.out.stdout).to.include("Chatting as 7000000000000001 on messenger");
    await exchange(chat, "what is my balance?", NOT_A_CUSTOMER);
    await exchange(chat, "link my account", ASKS_CUSTOMER_NUMBER);
    const sent = await exchange(chat, banner.customerNumber, /\[SMS to \+44\*+23\] Teller code \d{6}/);
    const code = /Teller code (\d{6})/.exec(sent)?.[1] ?? "";
    expect(await exchange(chat, code, /linked to your bank profile/)).to.include("Alex Demo");
    const balance = await exchange(chat, "what is my balance?", /Your balance is/);
    expect(balance).to.include("Teller: Your balance is 1,250.00 EUR.");
    expect(balance).to.match(/^ {2}1\. Balance$/m);
    await finish(chat);
  });

  it("should tell a stranger on Instagram how to link", async () => {
    const chat = await startChat(["--channel", "instagram", "--from", "17841400000000777"]);
    await exchange(chat, "hello, what is my balance?", NOT_A_CUSTOMER);
    await finish(chat);
  });

  it("should give the demo customer their balance by SMS through Twilio, and answer a menu number", async () => {
    const chat = await startChat(["--channel", "twilio"]);
    expect(chat.out.stdout).to.include(`Chatting as ${DEMO_PHONE} on twilio`);
    const balance = await exchange(chat, "what is my balance?", /Reply 1 for Balance/);
    expect(balance).to.include("Teller: Your balance is 1,250.00 EUR.");
    expect(balance).to.include("Reply 1 for Balance, 2 for Recent payments, 3 for Payees.");
    // SMS has no buttons: "2" goes as text, and the gateway maps it to the menu's second option.
    expect(await exchange(chat, "2", /Welcome deposit/)).to.include("+1,250.00 EUR  Welcome deposit");
    await finish(chat);
  });

  it("should refuse an unknown --channel and a --from of the wrong kind with one line each", async () => {
    const env = cleanEnv({ DATA_DIR: dataDir, NODE_ENV: "development" });
    const channel = await exitWithin(children.teller(["chat", "--channel", "sms"], env), 30_000);
    expect(channel.code).to.equal(2);
    expect(channel.stderr.trim()).to.equal(
      "teller chat: --channel must be one of whatsapp, messenger, instagram, telegram, twilio",
    );
    const from = await exitWithin(
      children.teller(["chat", "--channel", "twilio", "--from", "7000001"], env),
      30_000,
    );
    expect(from.code).to.equal(2);
    expect(from.stderr.trim().split("\n")).to.have.length(1);
    expect(from.stderr).to.include("teller chat: --from on twilio must be an E.164 number");
  });
});
