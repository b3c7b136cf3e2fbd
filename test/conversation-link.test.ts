import { expect } from "chai";
import { ACTIONS } from "../core/domain/dialog/intent.js";
import { NOT_A_CUSTOMER } from "../core/domain/dialog/replies.js";
import { Channel } from "../gen/teller/v1/common_pb.js";
import { CustomerService } from "../gen/teller/v1/customer_service_pb.js";
import { createManualClock, type ManualClock } from "../lib/clock.js";
import { deriveSubjectId } from "../lib/subject-id.js";
import { chatAs, textOf } from "./support/chat-driver.js";
import { startTestCore, type TestCore } from "./support/core.js";
import { ok } from "./support/invoke.js";
import { seedCustomer } from "./support/seed.js";

const ALICE = "+447700900811";
const BOB = "+447700900822";
const TELEGRAM_USER = "731945002";
const UNKNOWN_CUSTOMER = `cus_${"A".repeat(22)}`;

describe("Chat flows: linking a chat, cancel and timeout (real Redis and PostgreSQL)", () => {
  let t: TestCore;
  let clock: ManualClock;
  let alice: { customerId: string; accountId: string };
  beforeEach(async () => {
    clock = createManualClock(Date.now());
    t = await startTestCore({ clock, env: { RATE_LIMIT_PER_SUBJECT: "200/1m" } });
    alice = await seedCustomer(t, ALICE, 4_200n, "Alice");
  });
  afterEach(() => t.close());

  it("should link a Telegram chat by customer number and a code sent to the registered phone", async () => {
    const tg = await chatAs(t, TELEGRAM_USER, Channel.TELEGRAM);
    expect(textOf(await tg.say("what is my balance?"))).to.equal(NOT_A_CUSTOMER);
    expect(textOf(await tg.say("link my account"))).to.include("customer number");
    const sent = textOf(await tg.say(`my number is ${alice.customerId}`));
    expect(sent).to.include("If that customer number is right");
    const code = await tg.lastCode(ALICE);
    expect(textOf(await tg.say(code))).to.include("linked to your bank profile, Alice");
    expect(textOf(await tg.say("balance"))).to.equal("Your balance is 42.00 EUR.");
    const subjectId = deriveSubjectId(t.config.userIdSalt, "telegram", TELEGRAM_USER);
    const { items } = await t.core.audit.list({ type: "channel.linked", limit: 10 });
    expect(items.map((e) => [e.subjectId, e.customerId])).to.deep.equal([[subjectId, alice.customerId]]);
    expect(JSON.stringify(items, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.to.include(
      TELEGRAM_USER,
    );
  });

  it("should answer an unknown customer number exactly like a known one and send no code", async () => {
    const known = await chatAs(t, "555000111", Channel.TELEGRAM);
    const unknown = await chatAs(t, "555000222", Channel.TELEGRAM);
    await known.say("link my account");
    await unknown.say("link my account");
    const knownReply = await known.say(alice.customerId);
    const smsBefore = await known.smsCount(ALICE);
    expect(await unknown.say(UNKNOWN_CUSTOMER)).to.deep.equal(knownReply);
    expect(await known.smsCount(ALICE)).to.equal(smsBefore);
    const code = await known.lastCode(ALICE);
    const wrong = code === "000000" ? "111111" : "000000";
    expect(await unknown.say(wrong)).to.deep.equal(await known.say(wrong));
    // The unknown number never links, whatever is typed.
    for (let i = 0; i < 4; i++) await unknown.say(wrong);
    expect(textOf(await unknown.say("balance"))).to.equal(NOT_A_CUSTOMER);
  });

  it("should not link with a code that was meant for another purpose's challenge", async () => {
    const bob = await seedCustomer(t, BOB, 0n, "Bob");
    const tg = await chatAs(t, TELEGRAM_USER, Channel.TELEGRAM);
    await tg.say("link my account");
    await tg.say(alice.customerId);
    // Bob's newest code is for Bob: it cannot satisfy Alice's challenge.
    const other = await chatAs(t, "999", Channel.TELEGRAM);
    await other.say("link my account");
    await other.say(bob.customerId);
    expect(textOf(await tg.say(await other.lastCode(BOB)))).to.include("wrong or expired");
    expect(textOf(await tg.say("balance"))).not.to.include("42.00");
  });

  it("should say so when a WhatsApp customer asks to link a chat that is already recognised", async () => {
    const wa = await chatAs(t, ALICE);
    expect(textOf(await wa.say("link my account"))).to.include("already linked");
  });

  it("should time a pending operation out after 5 minutes without a reply", async () => {
    const tg = await chatAs(t, TELEGRAM_USER, Channel.TELEGRAM);
    await tg.say("link my account");
    await tg.say(alice.customerId);
    const code = await tg.lastCode(ALICE);
    clock.advance(5 * 60_000 + 1);
    expect(textOf(await tg.say(code))).to.include("timed out after 5 minutes");
    expect(textOf(await tg.say("balance"))).to.equal(NOT_A_CUSTOMER);
  });

  it("should keep a pending operation alive while the customer keeps answering", async () => {
    const tg = await chatAs(t, TELEGRAM_USER, Channel.TELEGRAM);
    await tg.say("link my account");
    clock.advance(4 * 60_000);
    await tg.say(alice.customerId);
    clock.advance(4 * 60_000);
    expect(textOf(await tg.say(await tg.lastCode(ALICE)))).to.include("linked");
  });

  it("should cancel a link at any step, and say when there is nothing to cancel", async () => {
    const tg = await chatAs(t, TELEGRAM_USER, Channel.TELEGRAM);
    expect(textOf(await tg.say("cancel"))).to.equal("There is nothing to cancel.");
    await tg.say("link my account");
    expect(textOf(await tg.tap(ACTIONS.cancel))).to.equal("Cancelled. Nothing was changed.");
    expect(textOf(await tg.say(alice.customerId))).to.equal(NOT_A_CUSTOMER);
  });

  it("should forget the link and any pending operation when the subject is erased", async () => {
    const tg = await chatAs(t, TELEGRAM_USER, Channel.TELEGRAM);
    await tg.say("link my account");
    await tg.say(alice.customerId);
    await tg.say(await tg.lastCode(ALICE));
    await tg.say("add payee Bob");
    const authorization = `Bearer ${await t.token(["banking:admin"])}`;
    const request = { channel: Channel.TELEGRAM, channelUserId: TELEGRAM_USER };
    await ok(t.core.invoker, CustomerService.method.eraseSubject, request, { authorization });
    expect(textOf(await tg.say("balance"))).to.equal(NOT_A_CUSTOMER);
    const subjectId = deriveSubjectId(t.config.userIdSalt, "telegram", TELEGRAM_USER);
    const { items } = await t.core.audit.list({ type: "channel.unlinked", limit: 10 });
    expect(items.map((e) => e.subjectId)).to.deep.equal([subjectId]);
  });
});
