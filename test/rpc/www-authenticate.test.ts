import type { Server } from "node:http";
import { expect } from "chai";
import { createConnectHandler, listenConnect } from "../../core/transport/connect-server.js";
import { systemClock } from "../../lib/clock.js";
import { mintStepUpToken, STEP_UP_ACR } from "../../lib/step-up-token.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { seedCustomer } from "../support/seed.js";

const ALICE = "+447700900711";
const BOB = "+447700900722";
const CREATE_TRANSFER = "/teller.v1.BankingService/CreateTransfer";

/** One HTTP answer as a curl user sees it: status, the WWW-Authenticate header and the JSON body. */
interface HttpAnswer {
  readonly status: number;
  readonly challenge: string | null;
  readonly body: { code?: string; message?: string };
}

/**
 * Splits an RFC 7235 challenge into its scheme and auth-params (token or quoted-string values),
 * written here from the RFC grammar so the test does not reuse the server's formatting.
 */
function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const match = /^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s+(.*)$/.exec(header);
  if (!match) throw new Error(`not a challenge: ${header}`);
  const params: Record<string, string> = {};
  const param =
    /\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9!#$%&'*+.^_`|~-]+))\s*(,|$)/y;
  const rest = match[2] as string;
  while (param.lastIndex < rest.length) {
    const found = param.exec(rest);
    if (!found) throw new Error(`malformed auth-params at ${param.lastIndex}: ${rest}`);
    const name = (found[1] as string).toLowerCase();
    if (name in params) throw new Error(`auth-param ${name} repeated`);
    params[name] = found[2] !== undefined ? found[2].replace(/\\(.)/g, "$1") : (found[3] as string);
    if (found[4] === "") break;
  }
  return { scheme: match[1] as string, params };
}

describe("WWW-Authenticate on the Connect port (RFC 9470 §3, security.md SU-9)", () => {
  let t: TestCore;
  let server: Server;
  let baseUrl: string;
  let alice: { customerId: string; accountId: string };
  let bob: { customerId: string; accountId: string };
  let authorization: string;

  before(async () => {
    t = await startTestCore();
    alice = await seedCustomer(t, ALICE, 10_000n, "Alice");
    bob = await seedCustomer(t, BOB, 0n, "Bob");
    authorization = `Bearer ${await t.token(["banking:write", "banking:read"])}`;
    const handler = createConnectHandler({ invoker: t.core.invoker, maxMessageBytes: 65_536 });
    const listening = await listenConnect(handler, "127.0.0.1", 0);
    server = listening.server;
    baseUrl = `http://127.0.0.1:${listening.port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.close();
  });

  /** POSTs a JSON CreateTransfer as curl would, with the Connect protocol's own headers only. */
  const postTransfer = async (fields: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const body = {
      idempotencyKey: `k-${Math.random().toString(36).slice(2)}`,
      fromAccountId: alice.accountId,
      toAccountId: bob.accountId,
      amount: { currency: "EUR", minorUnits: "250" },
      ...fields,
    };
    const response = await fetch(`${baseUrl}${CREATE_TRANSFER}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "connect-protocol-version": "1",
        authorization,
        ...headers,
      },
      body: JSON.stringify(body),
    });
    const answer: HttpAnswer = {
      status: response.status,
      challenge: response.headers.get("www-authenticate"),
      body: (await response.json()) as HttpAnswer["body"],
    };
    return answer;
  };

  /** A step-up token signed with the core's own key, for Alice's transfers. */
  const signedToken = (options: { bindingHash: string; nowMs?: number }) =>
    mintStepUpToken({
      privateJwk: t.config.stepUp.privateJwk,
      customerId: alice.customerId,
      purpose: "transfer",
      bindingHash: options.bindingHash,
      acr: STEP_UP_ACR,
      amr: ["otp", "sms"],
      authTime: options.nowMs ?? Date.now(),
      ttlSeconds: 300,
      clock: options.nowMs === undefined ? systemClock : { now: () => options.nowMs as number },
    });

  const expectStepUpChallenge = (answer: HttpAnswer) => {
    expect(answer.status).to.equal(401);
    expect(answer.body.code).to.equal("unauthenticated");
    expect(answer.challenge, "WWW-Authenticate header").to.be.a("string");
    const { scheme, params } = parseChallenge(answer.challenge as string);
    expect(scheme.toLowerCase()).to.equal("bearer");
    expect(params.error).to.equal("insufficient_user_authentication");
    expect(params.acr_values?.split(" ")).to.include(STEP_UP_ACR);
    expect(params.max_age).to.match(/^[0-9]+$/);
    expect(Number(params.max_age)).to.equal(300);
    expect(params.error_description).to.be.a("string").and.not.equal("");
  };

  it("should challenge a transfer sent without a step-up token, naming acr_values and max_age", async () => {
    expectStepUpChallenge(await postTransfer({ stepUpToken: "" }));
  });

  it("should challenge a transfer whose step-up token is not a valid token", async () => {
    expectStepUpChallenge(await postTransfer({ stepUpToken: "eyJhbGciOiJub25lIn0.e30." }));
  });

  it("should challenge a transfer whose step-up token has expired", async () => {
    const token = await signedToken({ bindingHash: "00", nowMs: Date.now() - 400_000 });
    expectStepUpChallenge(await postTransfer({ stepUpToken: token }));
  });

  it("should not challenge a valid step-up token bound to another operation (403, no header)", async () => {
    const token = await signedToken({ bindingHash: "another-operation" });
    const answer = await postTransfer({ stepUpToken: token });
    expect(answer.status).to.equal(403);
    expect(answer.challenge).to.equal(null);
  });

  it("should not challenge a caller without a service token, so no requirement leaks (RFC 9470 §9)", async () => {
    const answer = await postTransfer({ stepUpToken: "" }, { authorization: "" });
    expect(answer.status).to.equal(401);
    expect(answer.challenge).to.equal(null);
  });

  it("should not challenge a request refused for its fields", async () => {
    const answer = await postTransfer({ stepUpToken: "", amount: { currency: "EUR", minorUnits: "-5" } });
    expect(answer.status).to.equal(400);
    expect(answer.challenge).to.equal(null);
  });
});
