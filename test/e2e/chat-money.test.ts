import { expect } from "chai";
import { DEMO_PHONE } from "../../bin/seed-demo.js";
import { freePort } from "../support/redis.js";
import { Children, childEnv, type Running } from "../support/teller-process.js";

/** What the banner of `teller dev` names for the walk-through. */
interface DemoBanner {
  readonly gatewayPort: number;
  readonly customerNumber: string;
  readonly payeeAccount: string;
}

function parseBanner(stderr: string): DemoBanner | undefined {
  const gateway = /Gateways \(webhooks\):\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1];
  const customer = /customer number (cus_[A-Za-z0-9_-]{22})/.exec(stderr)?.[1];
  const payee = /A second customer to pay, Sam Taylor: account (acc_[A-Za-z0-9_-]{22})/.exec(stderr)?.[1];
  if (!gateway || !customer || !payee) return undefined;
  return { gatewayPort: Number(gateway), customerNumber: customer, payeeAccount: payee };
}

describe("teller chat walks through add payee, send money and linking (processes, dev outbox)", function () {
  this.timeout(120_000);
  const children = new Children();
  let dataDir: string;
  let graphPort: number;
  let banner: DemoBanner;

  before(async () => {
    dataDir = children.tempDir();
    graphPort = await freePort();
    const dev = children.teller(
      ["dev"],
      childEnv({
        DATA_DIR: dataDir,
        CORE_PORT: "0",
        CONNECT_PORT: "0",
        GATEWAY_PORT: "0",
        ADMIN_PORT: "0",
        WHATSAPP_API_BASE_URL: `http://127.0.0.1:${graphPort}`,
        NODE_ENV: "development",
      }),
    );
    banner = await dev.waitFor("the banner of teller dev", (out) => parseBanner(out.stderr));
  });

  after(() => children.cleanup());

  /** Starts `teller chat` as `from` and waits for its prompt. */
  const startChat = async (from: string): Promise<Running> => {
    const chat = children.teller(
      [
        "chat",
        "--from",
        from,
        "--gateway",
        `http://127.0.0.1:${banner.gatewayPort}`,
        "--graph-port",
        String(graphPort),
      ],
      childEnv({ DATA_DIR: dataDir, NODE_ENV: "development" }),
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

  /** The code of the newest "[SMS to …]" line in `output`. */
  const codeIn = (output: string): string => {
    const codes = [...output.matchAll(/\[SMS to [^\]]+\] Teller code (\d{6})/g)];
    const code = codes.at(-1)?.[1];
    expect(code, output).to.be.a("string");
    return code as string;
  };

  it("should add Sam as a payee and send 25 EUR with codes shown from the development outbox", async () => {
    const chat = await startChat(DEMO_PHONE);
    await exchange(chat, `add payee Sam ${banner.payeeAccount}`, /1\. Confirm/);
    const asked = await exchange(chat, "1", /Reply with the 6-digit code[\s\S]*\[SMS to/);
    expect(await exchange(chat, codeIn(asked), /Saved Sam as a payee/)).to.include("Saved Sam");
    const confirm = await exchange(chat, "send 25 EUR to Sam", /1\. Confirm/);
    expect(confirm).to.include("send 25.00 EUR to Sam");
    const sms = await exchange(chat, "1", /\[SMS to [^\]]+\] Teller code \d{6} to send 25\.00 EUR/);
    const done = await exchange(chat, codeIn(sms), /Done: you sent/);
    expect(done).to.include("Done: you sent 25.00 EUR to Sam. Your balance is now 1,225.00 EUR.");
    chat.endInput();
  });

  it("should link another number to the demo profile by customer number and a code to the registered phone", async () => {
    const chat = await startChat("+447700900999");
    expect(await exchange(chat, "what is my balance?", /Teller:/)).to.include("link my account");
    await exchange(chat, "link my account", /customer number/);
    const sent = await exchange(chat, banner.customerNumber, /\[SMS to \+44\*+23\] Teller code/);
    expect(await exchange(chat, codeIn(sent), /linked to your bank profile/)).to.include("Alex Demo");
    expect(await exchange(chat, "balance", /Your balance is/)).to.match(/Your balance is 1,2[25]{2}\.00 EUR/);
    chat.endInput();
  });
});
