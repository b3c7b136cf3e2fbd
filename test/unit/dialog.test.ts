import { expect } from "chai";
import { classify } from "../../core/domain/dialog/intent.js";
import { balanceText, MAX_REPLY_CHARS, reply, transactionsText } from "../../core/domain/dialog/replies.js";
import { formatMoney } from "../../lib/money.js";
import { maskCardNumbers, maskPhone } from "../../lib/redact.js";

describe("dialog intents", () => {
  const cases: [string, string][] = [
    ["hi", "greeting"],
    ["Good morning!", "greeting"],
    ["what is my balance?", "balance"],
    ["How much money do I have", "balance"],
    ["last 5 payments", "transactions"],
    ["show my recent transactions", "transactions"],
    ["help", "help"],
    ["what can you do", "help"],
    ["blorp", "fallback"],
  ];
  for (const [text, kind] of cases) {
    it(`should read "${text}" as ${kind}`, () => expect(classify({ text }).kind).to.equal(kind));
  }

  it("should read the count of transactions and clamp it to 1..20", () => {
    expect(classify({ text: "last 3 payments" })).to.deep.equal({ kind: "transactions", count: 3 });
    expect(classify({ text: "last 500 payments" })).to.deep.equal({ kind: "transactions", count: 20 });
    expect(classify({ text: "payments" })).to.deep.equal({ kind: "transactions", count: 5 });
  });

  it("should map quick-reply payloads and treat unknown payloads as fallback", () => {
    expect(classify({ actionPayload: "BALANCE" }).kind).to.equal("balance");
    expect(classify({ actionPayload: "DROP TABLE" }).kind).to.equal("fallback");
  });
});

describe("reply texts", () => {
  it("should format money with integer arithmetic for 2-, 0- and 3-digit currencies", () => {
    expect(formatMoney({ currency: "EUR", minorUnits: 123_456_789n })).to.equal("1,234,567.89 EUR");
    expect(formatMoney({ currency: "JPY", minorUnits: 5000n })).to.equal("5,000 JPY");
    expect(formatMoney({ currency: "KWD", minorUnits: 1005n })).to.equal("1.005 KWD");
    expect(formatMoney({ currency: "EUR", minorUnits: -5n })).to.equal("-0.05 EUR");
    expect(formatMoney({ currency: "EUR", minorUnits: 9_007_199_254_740_991n })).to.equal(
      "90,071,992,547,409.91 EUR",
    );
  });

  it("should keep every reply within 4096 characters", () => {
    const long = reply(`${"line of text\n".repeat(1000)}`);
    expect(long.text.length).to.be.at.most(MAX_REPLY_CHARS);
    const postings = Array.from({ length: 20 }, (_, i) => ({
      id: `e${i}`,
      transferId: `t${i}`,
      accountId: "acc_x",
      currency: "EUR",
      amount: 100n,
      balanceAfter: 100n,
      reference: "r".repeat(140),
      bookedAt: 0,
    }));
    const account = { id: "acc_abcd", customerId: "c", currency: "EUR", balance: 0n, openedAt: 0 };
    expect(reply(transactionsText(account, postings)).text.length).to.be.at.most(MAX_REPLY_CHARS);
    expect(balanceText([account, { ...account, id: "acc_efgh" }])).to.include("••efgh: 0.00 EUR");
  });
});

describe("redaction", () => {
  it("should mask phone numbers to a prefix and two digits", () => {
    expect(maskPhone("+447700900123")).to.equal("+44********23");
  });

  it("should mask Luhn-valid card numbers only", () => {
    expect(maskCardNumbers("card 4111-1111-1111-1111 ok")).to.deep.equal({
      text: "card [card ••••1111] ok",
      masked: true,
    });
    expect(maskCardNumbers("order 1234567890123").masked).to.equal(false);
  });
});
