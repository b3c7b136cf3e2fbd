import { expect } from "chai";
import { DEMO_PHONE } from "../../bin/seed-demo.js";
import { freePort } from "../support/redis.js";
import { Children, childEnv, exitWithin, type Running } from "../support/teller-process.js";

const BALANCE_LINE = "Teller: Your balance is 1,250.00 EUR.";
const CHOICES = ["  1. Balance", "  2. Recent payments"];
const DEPOSIT_LINE = "+1,250.00 EUR  Welcome deposit";

/** The ports `teller dev` printed in its banner. */
interface Banner {
  readonly gatewayPort: number;
  readonly coreAdminPort: number;
  readonly gatewayAdminPort: number;
}

function parseBanner(stderr: string): Banner | undefined {
  const gateway = /Gateways \(webhooks\):\s+http:\/\/127\.0\.0\.1:(\d+)\/webhooks\/whatsapp/.exec(stderr);
  const admin =
    /Admin \(healthz, readyz, metrics\):\s+core http:\/\/127\.0\.0\.1:(\d+), gateways http:\/\/127\.0\.0\.1:(\d+)/.exec(
      stderr,
    );
  if (!gateway || !admin || !stderr.includes(DEMO_PHONE)) return undefined;
  return {
    gatewayPort: Number(gateway[1]),
    coreAdminPort: Number(admin[1]),
    gatewayAdminPort: Number(admin[2]),
  };
}

/** The value of the first sample of `name` whose labels include every one of `labels`. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split("\n")) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([key, value]) => match[2].includes(`${key}="${value}"`));
    if (has) return Number(match[3]);
  }
  return undefined;
}

async function get(port: number, path: string) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
}

describe("teller chat against teller dev (the issue's walk-through as processes)", function () {
  this.timeout(120_000);
  const children = new Children();
  let dataDir: string;
  let graphPort: number;
  let dev: Running;
  let banner: Banner;
  let chat: Running;

  before(async () => {
    dataDir = children.tempDir();
    graphPort = await freePort();
    dev = children.teller(
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

  it("should print the gateway's webhook URL and both admin ports in the banner", () => {
    expect(banner.gatewayPort).to.be.greaterThan(0);
    expect(banner.coreAdminPort).to.be.greaterThan(0);
    expect(banner.gatewayAdminPort).to.be.greaterThan(0);
    expect(new Set([banner.gatewayPort, banner.coreAdminPort, banner.gatewayAdminPort]).size).to.equal(3);
  });

  it("should answer 'what is my balance?' typed into teller chat with the balance and numbered choices", async () => {
    chat = children.teller(
      ["chat", "--gateway", `http://127.0.0.1:${banner.gatewayPort}`, "--graph-port", String(graphPort)],
      childEnv({ DATA_DIR: dataDir, NODE_ENV: "development" }),
      { stdin: true },
    );
    await chat.waitFor("the chat prompt", (out) =>
      out.stdout.includes("Ctrl-D to quit") ? true : undefined,
    );
    expect(chat.out.stdout).to.include(`Chatting as ${DEMO_PHONE}`);
    chat.write("what is my balance?\n");
    const shown = await chat.waitFor("the balance and its choices", (out) =>
      out.stdout.includes(BALANCE_LINE) && out.stdout.includes(CHOICES[1]) ? out.stdout : undefined,
    );
    const lines = shown.split("\n");
    const at = lines.indexOf(BALANCE_LINE);
    expect(at, shown).to.be.greaterThan(-1);
    expect(lines.slice(at + 1, at + 3)).to.deep.equal(CHOICES);
    expect(shown).to.not.include("the gateway answered");
  });

  it("should answer the choice '2' (Recent payments) with the welcome deposit", async () => {
    const before = chat.out.stdout.length;
    chat.write("2\n");
    const shown = await chat.waitFor("the recent payments", (out) => {
      const added = out.stdout.slice(before);
      return added.includes(DEPOSIT_LINE) ? added : undefined;
    });
    expect(shown).to.match(/^Teller: EUR account /m);
    expect(shown).to.not.include("the gateway answered");
  });

  it("should report ready with every check true on both admin ports, and healthz 200", async () => {
    for (const port of [banner.coreAdminPort, banner.gatewayAdminPort]) {
      const ready = await get(port, "/readyz");
      expect(ready.status, ready.text).to.equal(200);
      const body = JSON.parse(ready.text) as { checks: Record<string, boolean> };
      expect(Object.keys(body.checks), ready.text).to.not.be.empty;
      for (const [check, ok] of Object.entries(body.checks)) expect(ok, `${port} ${check}`).to.equal(true);
      const health = await get(port, "/healthz");
      expect(health.status, health.text).to.equal(200);
    }
  });

  it("should count the two sends and the webhook requests in the gateways' metrics", async () => {
    const { status, text } = await get(banner.gatewayAdminPort, "/metrics");
    expect(status).to.equal(200);
    const sends = sample(text, "teller_outbox_sends_total", { channel: "whatsapp" });
    expect(sends, text).to.be.at.least(2);
    const requests = sample(text, "teller_requests_total", { route: "/webhooks/whatsapp", status: "200" });
    expect(requests, text).to.be.at.least(2);
  });

  it("should end teller chat with exit 0 when its input ends", async () => {
    chat.endInput();
    const finished = await exitWithin(chat, 30_000);
    expect({ code: finished.code, signal: finished.signal }, finished.stderr).to.deep.equal({
      code: 0,
      signal: null,
    });
  });

  it("should exit 0 on SIGTERM", async () => {
    dev.child.kill("SIGTERM");
    const finished = await exitWithin(dev, 30_000);
    expect({ code: finished.code, signal: finished.signal }, finished.stderr).to.deep.equal({
      code: 0,
      signal: null,
    });
  });
});
