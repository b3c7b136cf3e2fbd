import { expect } from "chai";
import { SAME_CHAT_TEXT } from "../../core/domain/dialog/flow-text.js";
import { ACTIONS } from "../../core/domain/dialog/intent.js";
import { CHANNEL_HARNESSES } from "../support/channels/all.js";
import type { ChannelHarness, ProviderReply } from "../support/channels/harness.js";
import { type ChannelRig, startChannelRig } from "../support/channels/rig.js";
import { seedCustomer } from "../support/seed.js";

const ALICE_PHONE = "+447700900515";
const BOB_PHONE = "+447700900526";
const GREETING = "Hello! How can I help you today?";

/**
 * One behaviour suite for every channel (issue 6, "Done means"): each channel's harness
 * builds requests exactly as its provider does and a fake of its send API records the replies.
 */
for (const make of CHANNEL_HARNESSES) {
  const name = make().name;
  describe(`Channel behaviour: ${name}`, function () {
    this.timeout(60_000);
    let rig: ChannelRig;
    let h: ChannelHarness;
    beforeEach(async () => {
      h = make();
      rig = await startChannelRig(h);
    });
    afterEach(() => rig.close());

    it("should answer the subscription handshake only for the right token", async () => {
      const handshake = h.handshake?.();
      if (!handshake) {
        // A secret-token or session-token channel has no handshake: its token is checked on every
        // delivery (below).
        expect(h.name).to.match(/^(telegram|twilio|web)$/);
        return;
      }
      const good = await rig.deliver(handshake.good);
      expect(good).to.deep.include({ status: 200, text: handshake.expectBody });
      expect((await rig.deliver(handshake.wrong)).status).to.equal(403);
    });

    it("should expose its alerting series at 0 before the first failure", async () => {
      // Prometheus' increase() misses a series first seen at 1 (deploy/prometheus/alerts.yaml).
      const text = await rig.gateways.metrics.registry.metrics();
      const series = (name: string, labels: string) =>
        new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} 0$`, "m");
      expect(text).to.match(series("teller_webhook_signature_failures_total", `channel="${h.name}"`));
      expect(text).to.match(series("teller_outbox_send_failures_total", 'kind="dead"'));
      expect(text).to.match(series("teller_outbox_send_failures_total", 'kind="retry"'));
      expect(text).to.match(series("teller_outbox_sends_total", 'channel="'));
    });

    it("should refuse a missing or forged signature with 401 and answer nothing", async () => {
      const user = h.newUser();
      expect((await rig.deliver(h.unsigned(h.text(user, "balance")))).status).to.equal(401);
      expect((await rig.deliver(h.forged(h.text(user, "balance")))).status).to.equal(401);
      const reply = await rig.turn(h.text(user, "hi"));
      expect(reply.text).to.equal(GREETING);
      expect(h.replies).to.have.length(1);
    });

    it("should acknowledge a signed payload it cannot read, and answer nothing", async () => {
      const res = await rig.deliver(h.malformed());
      expect(res.status === 400 || (res.status >= 200 && res.status < 300), `status ${res.status}`).to.equal(
        true,
      );
      await rig.turn(h.text(h.newUser(), "hi"));
      expect(h.replies.map((r) => r.text)).to.deep.equal([GREETING]);
    });

    it("should answer a message delivered twice only once", async () => {
      const user = h.newUser();
      const once = h.text(user, "hi");
      expect((await rig.deliver(once)).status).to.be.within(200, 299);
      expect((await rig.deliver(once)).status).to.be.within(200, 299);
      await h.waitForReplies(1);
      await rig.turn(h.text(user, "cancel"));
      expect(h.replies.map((r) => r.text)).to.deep.equal([GREETING, "There is nothing to cancel."]);
    });

    it("should deliver a reply after the provider's send API failed twice", async () => {
      h.failNext(500, 2);
      expect((await rig.turn(h.text(h.newUser(), "hi"))).text).to.equal(GREETING);
    });

    it("should deliver one customer's replies in the order the messages came", async () => {
      const user = h.newUser();
      for (const text of ["hi", "link my account", "cancel"]) {
        expect((await rig.deliver(h.text(user, text))).status).to.be.within(200, 299);
      }
      const replies = await h.waitForReplies(3);
      expect(replies.map((r) => r.text.slice(0, 24))).to.deep.equal([
        GREETING.slice(0, 24),
        "To link this chat to you",
        "Cancelled. Nothing was c",
      ]);
    });

    it("should link if needed, tell the balance, add a payee and send money with a one-time code", async () => {
      const alice = await seedCustomer(rig.t, ALICE_PHONE, 20_000n, "Alice");
      const bob = await seedCustomer(rig.t, BOB_PHONE, 0n, "Bob");
      const user = h.newUser(ALICE_PHONE);
      const code = async () => {
        const [sms] = (await rig.t.core.devOutbox?.read(ALICE_PHONE)) ?? [];
        return /code (\d{6})/.exec(sms?.text ?? "")?.[1] ?? "no code";
      };
      const confirm = async (reply: ProviderReply) => {
        // SMS carries no payloads: there the option is a number titled "Confirm".
        const choice = reply.choices.find((c) => c.id === ACTIONS.confirm || c.title === "Confirm");
        expect(choice, JSON.stringify(reply)).to.not.equal(undefined);
        return rig.turn(h.tap(user, ACTIONS.confirm, choice?.title ?? "Confirm"));
      };
      if (!h.phoneIdentity) {
        await rig.turn(h.text(user, "link my account"));
        await rig.turn(h.text(user, alice.customerId));
        expect((await rig.turn(h.text(user, await code()))).text).to.include(
          "linked to your bank profile, Alice",
        );
      }
      expect((await rig.turn(h.text(user, "what is my balance?"))).text).to.equal(
        "Your balance is 200.00 EUR.",
      );
      const payee = await rig.turn(h.text(user, `add payee Bob ${bob.accountId}`));
      if (h.codesInSameChat) {
        // An SMS code to the number of this SMS chat would let the chat authorise itself.
        expect((await confirm(payee)).text).to.equal(SAME_CHAT_TEXT);
        expect(await rig.t.core.devOutbox?.read(ALICE_PHONE)).to.deep.equal([]);
        return;
      }
      await confirm(payee);
      expect((await rig.turn(h.text(user, await code()))).text).to.include("Saved Bob as a payee");
      const transfer = await rig.turn(h.text(user, "send 5 EUR to Bob"));
      expect(transfer.text).to.include("send 5.00 EUR to Bob");
      await confirm(transfer);
      const done = await rig.turn(h.text(user, await code()));
      expect(done.text).to.equal("Done: you sent 5.00 EUR to Bob. Your balance is now 195.00 EUR.");
      expect((await rig.t.core.ledger.getAccount(bob.accountId))?.balance).to.equal(500n);
    });
  });
}
