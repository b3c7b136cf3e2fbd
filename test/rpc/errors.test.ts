import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { createPgliteClient } from "../../core/stores/postgres/pglite-client.js";
import type { SqlClient } from "../../core/stores/postgres/sql-client.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { BankingService } from "../../gen/teller/v1/banking_service_pb.js";
import { Channel } from "../../gen/teller/v1/common_pb.js";
import { ConversationService } from "../../gen/teller/v1/conversation_service_pb.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call } from "../support/invoke.js";

/** A SQL client whose queries can be slowed down or broken on demand, after migrations ran. */
function faultyClient(inner: SqlClient) {
  const faults = { delayMs: 0, fail: false };
  const wrap = (client: SqlClient): SqlClient => ({
    async query(sql, params) {
      if (faults.delayMs > 0) await new Promise((r) => setTimeout(r, faults.delayMs));
      if (faults.fail)
        throw Object.assign(new Error(`relation "accounts" does not exist: ${sql}`), { code: "42P01" });
      return client.query(sql, params);
    },
    transaction: (fn) => client.transaction((tx) => fn(wrap(tx))),
    close: () => client.close(),
  });
  return { client: wrap(inner), faults };
}

describe("error mapping and deadlines (rpc pipeline)", () => {
  let t: TestCore;
  let faults: { delayMs: number; fail: boolean };
  let inner: SqlClient;
  let authorization: string;
  before(async () => {
    inner = createPgliteClient();
    const faulty = faultyClient(inner);
    faults = faulty.faults;
    t = await startTestCore({ state: "memory", sql: faulty.client });
    authorization = `Bearer ${await t.token(["conversation", "banking:read"])}`;
  });
  afterEach(() => {
    faults.delayMs = 0;
    faults.fail = false;
  });
  after(async () => {
    await t.close();
    await inner.close();
  });

  it("should answer a database failure without SQL text and log the cause under the request id", async () => {
    faults.fail = true;
    const outcome = await call(
      t.core.invoker,
      BankingService.method.getBalance,
      { accountId: "acc_x" },
      { authorization, "x-request-id": "req-db-down" },
    );
    expect(outcome.ok).to.equal(false);
    if (outcome.ok) return;
    expect([Code.Unavailable, Code.Internal]).to.include(outcome.code);
    expect(outcome.error.rawMessage).not.to.match(/relation|SELECT|accounts|42P01/i);
    const line = t.logs.find((l) => l.includes("req-db-down") && l.includes("rpc failed"));
    expect(line, "a log line with the cause").to.be.a("string");
    expect(line).to.include("42P01");
  });

  it("should answer DEADLINE_EXCEEDED when the client's deadline passes first", async () => {
    faults.delayMs = 300;
    const outcome = await call(
      t.core.invoker,
      ConversationService.method.handleMessage,
      {
        channel: Channel.WHATSAPP,
        channelUserId: "+447700900100",
        messageId: "slow-1",
        content: { case: "text", value: "balance" },
      },
      { authorization },
      50,
    );
    expect(outcome.ok ? 0 : outcome.code).to.equal(Code.DeadlineExceeded);
  });

  it("should name the invalid field in BadRequest for each HandleMessage rule", async () => {
    const base = { channel: Channel.WHATSAPP, channelUserId: "+447700900100", messageId: "v-1" };
    const cases: [string, object][] = [
      ["text", { ...base, content: { case: "text", value: "" } }],
      ["text", { ...base, content: { case: "text", value: "x".repeat(4097) } }],
      ["text", { ...base, content: { case: "text", value: "bell\u0007" } }],
      ["text", base],
      ["message_id", { ...base, messageId: "", content: { case: "text", value: "hi" } }],
      ["message_id", { ...base, messageId: "has space", content: { case: "text", value: "hi" } }],
      ["message_id", { ...base, messageId: "m".repeat(257), content: { case: "text", value: "hi" } }],
      ["action_payload", { ...base, content: { case: "actionPayload", value: "" } }],
      ["channel", { ...base, channel: Channel.UNSPECIFIED, content: { case: "text", value: "hi" } }],
      ["channel_user_id", { ...base, channelUserId: "447700900100", content: { case: "text", value: "hi" } }],
    ];
    for (const [field, request] of cases) {
      const outcome = await call(t.core.invoker, ConversationService.method.handleMessage, request, {
        authorization,
      });
      expect(outcome.ok ? 0 : outcome.code, field).to.equal(Code.InvalidArgument);
      if (outcome.ok) continue;
      const [bad] = outcome.error.findDetails(BadRequestSchema);
      expect(bad?.fieldViolations[0]?.field, JSON.stringify(request).slice(0, 80)).to.equal(field);
    }
    // 4096 characters, emoji counted as one each, are accepted.
    const longest = {
      ...base,
      messageId: "v-ok",
      content: { case: "text" as const, value: "😀".repeat(4096) },
    };
    const accepted = await call(t.core.invoker, ConversationService.method.handleMessage, longest, {
      authorization,
    });
    expect(accepted.ok).to.equal(true);
  });
});
