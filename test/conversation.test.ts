import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { NOT_A_CUSTOMER } from "../core/domain/dialog/replies.js";
import { RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { Channel } from "../gen/teller/v1/common_pb.js";
import { ConversationService } from "../gen/teller/v1/conversation_service_pb.js";
import { startTestCore, type TestCore } from "./support/core.js";
import { call } from "./support/invoke.js";
import { seedCustomer } from "./support/seed.js";

const handle = ConversationService.method.handleMessage;
const PHONE = "+447700900555";

describe("ConversationService.HandleMessage (real Redis and PostgreSQL)", () => {
  let t: TestCore;
  let authorization: string;
  beforeEach(async () => {
    t = await startTestCore({ env: { RATE_LIMIT_PER_SUBJECT: "5/1m" } });
    authorization = `Bearer ${await t.token(["conversation"])}`;
  });
  afterEach(() => t.close());

  const send = (from: string, messageId: string, text: string, channel = Channel.WHATSAPP) =>
    call(
      t.core.invoker,
      handle,
      { channel, channelUserId: from, messageId, content: { case: "text", value: text } },
      { authorization },
    );

  it("should tell a customer writing from their registered number the right balance", async () => {
    await seedCustomer(t, PHONE, 125_050n);
    const outcome = await send(PHONE, "wamid.1", "what is my balance?");
    expect(outcome.ok).to.equal(true);
    if (!outcome.ok) return;
    expect(outcome.response.replies[0]?.text).to.equal("Your balance is 1,250.50 EUR.");
    expect(outcome.response.replies[0]?.quickReplies.map((q) => q.payload)).to.include("BALANCE");
    expect(outcome.response.sessionId).to.match(/^ses_/);
    expect(outcome.response.duplicate).to.equal(false);
  });

  it("should list recent transactions newest first", async () => {
    await seedCustomer(t, PHONE, 999n);
    const outcome = await send(PHONE, "wamid.2", "show my last 3 payments");
    if (!outcome.ok) throw outcome.error;
    const text = outcome.response.replies[0]?.text ?? "";
    expect(text).to.include("+9.99 EUR");
  });

  it("should answer a repeated message id with the first replies, marked duplicate, running nothing again", async () => {
    await seedCustomer(t, PHONE, 100n);
    const first = await send(PHONE, "wamid.same", "balance");
    const again = await send(PHONE, "wamid.same", "balance");
    if (!first.ok || !again.ok) throw new Error("call failed");
    expect(again.response.duplicate).to.equal(true);
    expect(again.response.replies).to.deep.equal(first.response.replies);
    expect(again.response.sessionId).to.equal(first.response.sessionId);
    // Repeats are free: four more new messages still fit the limit of 5 a minute.
    for (let i = 0; i < 4; i++) expect((await send(PHONE, `wamid.n${i}`, "hi")).ok).to.equal(true);
  });

  it("should handle concurrent deliveries of one message id once", async () => {
    await seedCustomer(t, PHONE, 100n);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => send(PHONE, "wamid.race", "balance")));
    const fresh = outcomes.filter((o) => o.ok && !o.response.duplicate);
    expect(fresh).to.have.length(1);
    expect(outcomes.every((o) => o.ok)).to.equal(true);
  });

  it("should answer RESOURCE_EXHAUSTED with a retry delay beyond the per-subject limit", async () => {
    for (let i = 0; i < 5; i++) expect((await send(PHONE, `m${i}`, "hello")).ok).to.equal(true);
    const limited = await send(PHONE, "m5", "hello");
    expect(limited.ok).to.equal(false);
    if (limited.ok) return;
    expect(limited.code).to.equal(Code.ResourceExhausted);
    expect(limited.reason).to.equal("RATE_LIMITED");
    const [retry] = limited.error.findDetails(RetryInfoSchema);
    expect(
      Number(retry?.retryDelay?.seconds ?? 0n) * 1000 + (retry?.retryDelay?.nanos ?? 0) / 1e6,
    ).to.be.greaterThan(0);
    // Another subject is not affected.
    expect((await send("+447700900556", "m0", "hello")).ok).to.equal(true);
  });

  it("should tell an unknown sender how to become a customer and nothing about any account", async () => {
    await seedCustomer(t, PHONE, 100n);
    const texts: string[] = [];
    for (const [from, channel] of [
      ["+447700900999", Channel.WHATSAPP],
      ["+15550001111", Channel.SMS],
      [PHONE.slice(1), Channel.TELEGRAM],
      ["visitor-1", Channel.WEB],
    ] as const) {
      const outcome = await send(from, `q-${from}`, "what is my balance?", channel);
      if (!outcome.ok) throw outcome.error;
      texts.push(...outcome.response.replies.map((r) => r.text));
    }
    expect(new Set(texts)).to.deep.equal(new Set([NOT_A_CUSTOMER]));
  });

  it("should never log the phone number or the message text", async () => {
    await seedCustomer(t, PHONE, 100n);
    await send(PHONE, "wamid.log", "what is my balance? secret-words-123");
    const logs = t.logs.join("\n");
    expect(logs).to.include("ConversationService/HandleMessage");
    expect(logs).to.match(/"subject":"[0-9a-f]{64}"/);
    expect(logs).not.to.include(PHONE);
    expect(logs).not.to.include(PHONE.slice(1));
    expect(logs).not.to.include("secret-words-123");
  });

  it("should mask a card number and warn the customer", async () => {
    await seedCustomer(t, PHONE, 100n);
    const outcome = await send(PHONE, "wamid.card", "my card is 4111 1111 1111 1111 what is my balance");
    if (!outcome.ok) throw outcome.error;
    expect(outcome.response.replies[0]?.text).to.include("never send card numbers");
    expect(outcome.response.replies[1]?.text).to.equal("Your balance is 1.00 EUR.");
  });

  it("should number one conversation's messages without gaps or repeats across two core processes", async () => {
    const env = { RATE_LIMIT_PER_SUBJECT: "100/1m" };
    const first = await startTestCore({ env });
    const second = await startTestCore({ shareWith: first, env });
    try {
      const cores = [first, second];
      const tokens = await Promise.all(cores.map(async (c) => `Bearer ${await c.token(["conversation"])}`));
      const via = (i: number, id: string) =>
        call(
          cores[i % 2]?.core.invoker as TestCore["core"]["invoker"],
          handle,
          {
            channel: Channel.WHATSAPP,
            channelUserId: "+447700900777",
            messageId: id,
            content: { case: "text", value: "hi" },
          },
          { authorization: tokens[i % 2] as string },
        );
      // One after another, alternating processes: positions follow the order of arrival.
      const sequential: number[] = [];
      for (let i = 0; i < 6; i++) {
        const outcome = await via(i, `seq-${i}`);
        if (!outcome.ok) throw outcome.error;
        sequential.push(outcome.response.sequence);
      }
      expect(sequential).to.deep.equal([1, 2, 3, 4, 5, 6]);
      // All at once on both processes: each handled alone, none lost, none twice.
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => via(i, `burst-${i}`)));
      const positions = burst.map((o) => (o.ok ? o.response.sequence : -1)).sort((a, b) => a - b);
      expect(positions).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 7));
      // The same delivery reaching both processes at once runs once: the other is the duplicate.
      const twice = await Promise.all([0, 1, 0, 1].map((i) => via(i, "both-0")));
      const fresh = twice.filter((o) => o.ok && !o.response.duplicate);
      expect(fresh).to.have.length(1);
      expect(new Set(twice.map((o) => (o.ok ? o.response.sequence : -1)))).to.deep.equal(new Set([27]));
    } finally {
      await second.close();
      await first.close();
    }
  });
});
