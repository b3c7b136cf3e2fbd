import { expect } from "chai";
import { ACTIONS } from "../core/domain/dialog/intent.js";
import { type ChatDriver, chatAs, textOf } from "./support/chat-driver.js";
import { startTestCore, type TestCore } from "./support/core.js";
import { seedCustomer } from "./support/seed.js";

const ALICE = "+447700900711";
const BOB = "+447700900722";
const CAROL = "+447700900733";

for (const backend of [
  { name: "real Redis and PostgreSQL", state: "redis", database: "postgres" },
  { name: "memory and PGlite", state: "memory", database: "pglite" },
] as const) {
  describe(`Chat flows: add payee and send money (${backend.name})`, () => {
    let t: TestCore;
    let alice: { customerId: string; accountId: string };
    let bob: { customerId: string; accountId: string };
    let chat: ChatDriver;
    beforeEach(async () => {
      t = await startTestCore({
        state: backend.state,
        database: backend.database,
        env: { RATE_LIMIT_PER_SUBJECT: "200/1m" },
      });
      alice = await seedCustomer(t, ALICE, 10_000n, "Alice");
      bob = await seedCustomer(t, BOB, 0n, "Bob");
      chat = await chatAs(t, ALICE);
    });
    afterEach(() => t.close());

    const balance = async (accountId: string) => (await t.core.ledger.getAccount(accountId))?.balance;

    /** Saves a payee through the chat, as the customer would. */
    const addPayee = async (name: string, accountId: string) => {
      const confirm = await chat.say(`add payee ${name} ${accountId}`);
      expect(textOf(confirm)).to.include(`add ${name} (account ••${accountId.slice(-4)}) as a payee`);
      expect(confirm[0]?.payloads).to.deep.equal([ACTIONS.confirm, ACTIONS.cancel]);
      const ask = await chat.tap(ACTIONS.confirm);
      expect(textOf(ask)).to.include("Reply with the 6-digit code");
      return chat.say(await chat.lastCode(ALICE));
    };

    it("should add a payee only after confirmation and a code bound to that name and account", async () => {
      const saved = await addPayee("Bob", bob.accountId);
      expect(textOf(saved)).to.include("Saved Bob as a payee");
      const [payee] = await t.core.ledger.listBeneficiaries(alice.customerId);
      expect(payee).to.include({ name: "Bob", accountId: bob.accountId });
      const [sms] = (await t.core.devOutbox?.read(ALICE)) ?? [];
      expect(sms?.text).to.include(`add payee Bob (account ••${bob.accountId.slice(-4)})`);
    });

    it("should send money to a saved payee after repeating amount and payee and taking a code", async () => {
      await addPayee("Bob", bob.accountId);
      const confirm = await chat.say("send 25 EUR to bob");
      expect(textOf(confirm)).to.include(
        `Please confirm: send 25.00 EUR to Bob (account ••${bob.accountId.slice(-4)})`,
      );
      expect(await balance(bob.accountId)).to.equal(0n);
      await chat.tap(ACTIONS.confirm);
      const [sms] = (await t.core.devOutbox?.read(ALICE)) ?? [];
      expect(sms?.text).to.include("25.00 EUR");
      const result = await chat.say(await chat.lastCode(ALICE));
      expect(textOf(result)).to.include("Done: you sent 25.00 EUR to Bob. Your balance is now 75.00 EUR.");
      expect(await balance(bob.accountId)).to.equal(2_500n);
      expect(await balance(alice.accountId)).to.equal(7_500n);
    });

    it("should read decimals in the account's currency and refuse a third decimal", async () => {
      await addPayee("Bob", bob.accountId);
      expect(textOf(await chat.say("send €12.50 to Bob"))).to.include("send 12.50 EUR to Bob");
      await chat.tap(ACTIONS.cancel);
      expect(textOf(await chat.say("send 1.005 EUR to Bob"))).to.include("could not read that amount");
    });

    it("should ask which payee when a name matches several, and pay only the one chosen", async () => {
      const carol = await seedCustomer(t, CAROL, 0n, "Carol");
      await addPayee("Bob Smith", bob.accountId);
      await addPayee("Bob Jones", carol.accountId);
      const choice = await chat.say("send 5 EUR to bob");
      expect(textOf(choice)).to.include("Who should I pay?");
      const [jones] = (await t.core.ledger.listBeneficiaries(alice.customerId)).filter(
        (p) => p.name === "Bob Jones",
      );
      expect(choice[0]?.payloads).to.include(`${ACTIONS.payeePrefix}${jones?.id}`);
      const confirm = await chat.tap(`${ACTIONS.payeePrefix}${jones?.id}`);
      expect(textOf(confirm)).to.include(
        `send 5.00 EUR to Bob Jones (account ••${carol.accountId.slice(-4)})`,
      );
      await chat.tap(ACTIONS.confirm);
      await chat.say(await chat.lastCode(ALICE));
      expect(await balance(carol.accountId)).to.equal(500n);
      expect(await balance(bob.accountId)).to.equal(0n);
    });

    it("should refuse to pay anyone who is not a saved payee", async () => {
      const reply = textOf(await chat.say("send 5 EUR to Mallory"));
      expect(reply).to.include("no saved payees");
      expect(await chat.smsCount(ALICE)).to.equal(0);
    });

    it("should cancel at the confirmation and at the code step, sending nothing", async () => {
      await addPayee("Bob", bob.accountId);
      const sent = await chat.smsCount(ALICE);
      await chat.say("send 5 EUR to Bob");
      expect(textOf(await chat.tap(ACTIONS.cancel))).to.include("Cancelled. Nothing was changed.");
      expect(await chat.smsCount(ALICE)).to.equal(sent);
      await chat.say("send 5 EUR to Bob");
      await chat.tap(ACTIONS.confirm);
      const code = await chat.lastCode(ALICE);
      expect(textOf(await chat.say("cancel"))).to.include("Cancelled");
      // The code of a cancelled operation is now just a number: it moves nothing.
      expect(textOf(await chat.say(code))).not.to.include("Done");
      expect(await balance(bob.accountId)).to.equal(0n);
    });

    it("should count wrong codes down and cancel after the fifth", async () => {
      await addPayee("Bob", bob.accountId);
      await chat.say("send 5 EUR to Bob");
      await chat.tap(ACTIONS.confirm);
      const code = await chat.lastCode(ALICE);
      const wrong = code === "000000" ? "111111" : "000000";
      expect(textOf(await chat.say(wrong))).to.include("wrong or expired. You have 4 tries left.");
      for (let i = 0; i < 3; i++) await chat.say(wrong);
      expect(textOf(await chat.say(wrong))).to.include("cannot be tried again");
      expect(textOf(await chat.say(code))).not.to.include("Done");
      expect(await balance(bob.accountId)).to.equal(0n);
    });

    it("should say so and change nothing when the account cannot cover the payment", async () => {
      await addPayee("Bob", bob.accountId);
      await chat.say("send 500 EUR to Bob");
      await chat.tap(ACTIONS.confirm);
      const result = textOf(await chat.say(await chat.lastCode(ALICE)));
      expect(result).to.include("not enough money");
      expect(await balance(alice.accountId)).to.equal(10_000n);
    });

    it("should never show a step-up token in any reply", async () => {
      const replies = [...(await addPayee("Bob", bob.accountId))];
      replies.push(...(await chat.say("send 1 EUR to Bob")), ...(await chat.tap(ACTIONS.confirm)));
      replies.push(...(await chat.say(await chat.lastCode(ALICE))));
      for (const r of replies) expect(r.text).not.to.match(/eyJ[A-Za-z0-9_-]{10,}/);
    });
  });
}
