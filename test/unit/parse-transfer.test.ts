import { expect } from "chai";
import { classify } from "../../core/domain/dialog/intent.js";
import { parseTransferText, toMinorUnits } from "../../core/domain/dialog/parse-transfer.js";
import { matchPayees } from "../../core/domain/dialog/transfer-flow.js";
import type { Beneficiary } from "../../core/domain/ledger.js";

describe("reading a transfer request", () => {
  const cases: [string, ReturnType<typeof parseTransferText>][] = [
    ["send 25 EUR to Alice", { amount: { text: "25", currency: "EUR" }, payeeName: "Alice" }],
    ["send €25.50 to Alice Smith", { amount: { text: "25.50", currency: "EUR" }, payeeName: "Alice Smith" }],
    ["pay Bob 10 gbp", { amount: { text: "10", currency: "GBP" }, payeeName: "Bob" }],
    ["pay Bob £1,000.00 please", { amount: { text: "1,000.00", currency: "GBP" }, payeeName: "Bob" }],
    ["transfer 7 to Carol", { amount: { text: "7" }, payeeName: "Carol" }],
    ["send 25 for rent to Dan", { amount: { text: "25" }, payeeName: "Dan" }],
    ["send money to Eve", { payeeName: "Eve" }],
    ["send 5", { amount: { text: "5" } }],
    ["send EUR 5 to Ron", { amount: { text: "5", currency: "EUR" }, payeeName: "Ron" }],
  ];
  for (const [text, expected] of cases) {
    it(`should read "${text}"`, () => expect(parseTransferText(text)).to.deep.equal(expected));
  }

  it("should classify money words before reading words", () => {
    expect(classify({ text: "send 25 EUR to Alice" }).kind).to.equal("transfer");
    expect(classify({ text: "Add payee Bob acc_AAAAAAAAAAAAAAAAAAAAAA" })).to.deep.equal({
      kind: "add_payee",
      name: "Bob",
      accountId: "acc_AAAAAAAAAAAAAAAAAAAAAA",
    });
    expect(classify({ text: "link my account" }).kind).to.equal("link");
    expect(classify({ text: "Please, could you send 5 EUR to Bob" })).to.deep.equal({
      kind: "transfer",
      amount: { text: "5", currency: "EUR" },
      payeeName: "Bob",
    });
    expect(classify({ text: "my payees" }).kind).to.equal("payees");
    expect(classify({ text: "cancel" }).kind).to.equal("cancel");
    expect(classify({ actionPayload: "PAYEE:ben_1" })).to.deep.equal({
      kind: "choose_payee",
      beneficiaryId: "ben_1",
    });
  });

  it("should convert amounts to minor units with integer arithmetic only", () => {
    expect(toMinorUnits("25", "EUR")).to.equal(2_500n);
    expect(toMinorUnits("25.5", "EUR")).to.equal(2_550n);
    expect(toMinorUnits("25,50", "EUR")).to.equal(2_550n);
    expect(toMinorUnits("1,000", "EUR")).to.equal(100_000n);
    expect(toMinorUnits("0.1", "EUR")).to.equal(10n);
    expect(toMinorUnits("500", "JPY")).to.equal(500n);
    expect(toMinorUnits("1.5", "JPY")).to.equal(undefined);
    expect(toMinorUnits("1.005", "EUR")).to.equal(undefined);
    expect(toMinorUnits("0", "EUR")).to.equal(undefined);
    expect(toMinorUnits("999999999999999", "EUR")).to.equal(undefined);
  });

  it("should match payees exactly first, then by prefix, then by substring, ignoring case", () => {
    const payee = (id: string, name: string) => ({ id, name }) as Beneficiary;
    const payees = [payee("1", "Bob"), payee("2", "Bobby Tables"), payee("3", "Rob Bobson")];
    expect(matchPayees(payees, "bob").map((p) => p.id)).to.deep.equal(["1"]);
    expect(matchPayees(payees, "bobb").map((p) => p.id)).to.deep.equal(["2"]);
    expect(matchPayees(payees, "bobs").map((p) => p.id)).to.deep.equal(["3"]);
    expect(matchPayees(payees, "ob").map((p) => p.id)).to.deep.equal(["1", "2", "3"]);
    expect(matchPayees(payees, "zed")).to.deep.equal([]);
  });
});
