import { createServer, type Server } from "node:http";
import { expect } from "chai";
import { type Browser, chromium, type Page } from "playwright-core";
import { NOT_A_CUSTOMER } from "../../core/domain/dialog/replies.js";
import { CHAT_CSP } from "../../gateways/webchat/routes.js";
import { ensureChromium } from "../support/chromium.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { seedCustomer } from "../support/seed.js";

const PHONE = "+447700900987";
/** A display name carrying markup: the link reply quotes it, so the page must show it as text. */
const NAME = `Ada <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;

/** Records CSP violations from the first script of every document (CDP, so the CSP allows it). */
const WATCH_VIOLATIONS = `window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));`;

/**
 * Injects an inline script through the DOM and reports whether it ran and which directive
 * refused it. An allowed inline script runs synchronously on insertion, so `ran` is final.
 */
const INJECT_INLINE_SCRIPT = `new Promise((resolve) => {
  const before = window.__violations.length;
  const script = document.createElement("script");
  script.textContent = "window.__inline = true";
  document.body.append(script);
  const ran = window.__inline === true;
  const check = () => window.__violations.length > before
    ? resolve({ ran, directive: window.__violations[before] })
    : setTimeout(check, 10);
  check();
})`;

/** Types a message into the page and sends it with Enter, as a visitor does. */
async function say(page: Page, text: string): Promise<void> {
  await page.fill("#text", text);
  await page.press("#text", "Enter");
}

/** The text of the newest reply bubble containing `part`, once it is shown. */
async function reply(page: Page, part: string, nth = 0): Promise<string> {
  const bubble = page.locator("#log li.teller p").filter({ hasText: part }).nth(nth);
  await bubble.waitFor({ timeout: 10_000 });
  return (await bubble.textContent()) ?? "";
}

describe("web chat in a real browser (Debian's Chromium via playwright-core)", () => {
  let executablePath: string;
  let rig: GatewayRig;
  let server: Server;
  let browser: Browser;
  let baseUrl: string;
  let customerId: string;

  before(function () {
    this.timeout(900_000); // Only when Chromium must be installed first (as root, with apt-get).
    executablePath = ensureChromium();
  });

  beforeEach(async () => {
    rig = await startGatewayRig({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    ({ customerId } = await seedCustomer(rig.t, PHONE, 42_00n, NAME));
    const gw = rig.gateways({
      env: { GATEWAYS: "web", WEBCHAT_SESSION_SECRET: "browser-test-secret-0123456789abcdef" },
    });
    server = createServer(gw.app.callback());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    browser = await chromium.launch({ executablePath, headless: true });
  });

  afterEach(async () => {
    await browser?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rig.close();
  });

  it("should answer, link with the texted code, show the balance and render markup as plain text", async () => {
    const page = await browser.newPage();
    await page.addInitScript(WATCH_VIOLATIONS);
    const response = await page.goto(`${baseUrl}/chat`);
    expect(response?.headers()["content-security-policy"]).to.equal(CHAT_CSP);

    await say(page, "what is my balance?");
    expect(await reply(page, "I can only help customers")).to.equal(NOT_A_CUSTOMER);
    await say(page, "link my account");
    expect(await reply(page, "send me your customer number")).to.include("starts with cus_");
    await say(page, customerId);
    await reply(page, "If that customer number is right");
    const [sms] = (await rig.t.core.devOutbox?.read(PHONE)) ?? [];
    const code = /\b(\d{6})\b/.exec(sms?.text ?? "")?.[1];
    expect(code, "a code in the texted message").to.be.a("string");
    await say(page, code as string);
    const linked = await reply(page, "linked to your bank profile");
    expect(linked).to.equal(
      `Done: this chat is now linked to your bank profile, ${NAME}. Try “what is my balance?”.`,
    );

    await say(page, "balance");
    expect(await reply(page, "Your balance is")).to.equal("Your balance is 42.00 EUR.");
    await page.locator("#log .choices button", { hasText: "Balance" }).click();
    expect(await reply(page, "Your balance is", 1)).to.equal("Your balance is 42.00 EUR.");

    // The name's markup was shown, not parsed: no element made of it, nothing ran, nothing blocked.
    // biome-ignore lint/performance/useDomNodeTextContent: innerText is what the visitor sees rendered.
    expect(await page.locator("#log").innerText()).to.include("<script>window.__pwned=2</script>");
    expect(await page.locator("#log script, #log img").count()).to.equal(0);
    expect(await page.evaluate("window.__pwned")).to.equal(undefined);
    expect(await page.evaluate("window.__violations")).to.deep.equal([]);
  });

  it("should block an inline script injected into the page (Content-Security-Policy)", async () => {
    const page = await browser.newPage();
    await page.addInitScript(WATCH_VIOLATIONS);
    await page.goto(`${baseUrl}/chat`);
    const outcome = await page.evaluate(INJECT_INLINE_SCRIPT);
    expect(outcome).to.deep.equal({ ran: false, directive: "script-src-elem" });
  });
});
