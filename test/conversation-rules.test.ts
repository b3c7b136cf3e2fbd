import { expect } from "chai";
import { ACTIONS } from "../core/domain/dialog/intent.js";
import { chatAs, textOf } from "./support/chat-driver.js";
import { startTestCore, type TestCore } from "./support/core.js";
import { seedCustomer } from "./support/seed.js";

const ALICE = "+447700900611";
const BOB = "+447700900622";

describe("Chat flows: limits and fraud rules answer in words (real Redis and PostgreSQL)", () => {
  let t: TestCore;
  beforeEach(async () => {
    // Per transfer at most 500.00 EUR; a payee saved within 24 h gets at most 250.00 EUR unheld.
    t = await startTestCore({
      env: { RATE_LIMIT_PER_SUBJECT: "100/1m", TRANSFER_LIMIT_PER_TRANSFER: "50000" },
    });
  });
  afterEach(() => t.close());

  /** Alice, 1,000.00 EUR, with Bob saved as a payee a moment ago; and a chat that pays him. */
  const setUp = async () => {
    const alice = await seedCustomer(t, ALICE, 100_000n, "Alice");
    const bob = await seedCustomer(t, BOB, 0n, "Bob");
    const chat = await chatAs(t, ALICE);
    await chat.say(`add payee Bob ${bob.accountId}`);
    await chat.tap(ACTIONS.confirm);
    await chat.say(await chat.lastCode(ALICE));
    const pay = async (amount: string) => {
      await chat.say(`send ${amount} EUR to Bob`);
      await chat.tap(ACTIONS.confirm);
      return textOf(await chat.say(await chat.lastCode(ALICE)));
    };
    const balance = async (accountId: string) => (await t.core.ledger.getAccount(accountId))?.balance;
    return { alice, bob, pay, balance };
  };

  it("should refuse a payment above the per-transfer limit with the reason, moving nothing", async () => {
    const { alice, pay, balance } = await setUp();
    const answer = await pay("600");
    expect(answer).to.match(/^I could not make this payment: .*500\.00 EUR.* Nothing was sent\.$/);
    expect(await balance(alice.accountId)).to.equal(100_000n);
  });

  it("should hold a large first payment to a payee saved minutes ago, and say why", async () => {
    const { alice, bob, pay, balance } = await setUp();
    const answer = await pay("300");
    expect(answer).to.include("Your payment of 300.00 EUR to Bob is on hold for a check");
    expect(await balance(alice.accountId)).to.equal(100_000n);
    expect(await balance(bob.accountId)).to.equal(0n);
    const { items } = await t.core.audit.list({ type: "transfer.held", limit: 10 });
    expect(items).to.have.length(1);
  });
});

describe("Chat flows: the SMS allowance per customer (real Redis and PostgreSQL)", () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await startTestCore({ env: { RATE_LIMIT_PER_SUBJECT: "100/1m", RATE_LIMIT_STEP_UP_SMS: "1/1h" } });
  });
  afterEach(() => t.close());

  it("should say in words that no more codes can be sent, and end the operation", async () => {
    const alice = await seedCustomer(t, ALICE, 100_000n, "Alice");
    const bob = await seedCustomer(t, BOB, 0n, "Bob");
    const chat = await chatAs(t, ALICE);
    await chat.say(`add payee Bob ${bob.accountId}`);
    await chat.tap(ACTIONS.confirm);
    await chat.tap(ACTIONS.cancel);
    await chat.say(`add payee Bob ${bob.accountId}`);
    const refused = textOf(await chat.tap(ACTIONS.confirm));
    expect(refused).to.match(/too many one-time codes.*about (an hour|60 minutes)/);
    expect(await chat.smsCount(ALICE)).to.equal(1);
    expect(textOf(await chat.say("123456"))).not.to.include("Saved");
    expect(await t.core.ledger.listBeneficiaries(alice.customerId)).to.deep.equal([]);
  });
});
