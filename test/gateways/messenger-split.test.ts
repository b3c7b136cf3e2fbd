import { expect } from "chai";
import { INSTAGRAM, MESSENGER } from "../../gateways/messenger/meta-channel.js";
import { cutText, MAX_PARTS, splitReplies, splitText } from "../../gateways/messenger/split.js";
import type { OutboundReply } from "../../gateways/outbox/outbox.js";

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

/** A payments list as the core writes it: one line per posting, about 60 characters each. */
function paymentsList(lines: number, reference = "Rent for the flat on the high street"): string {
  const rows = Array.from(
    { length: lines },
    (_, i) => `2026-01-${String((i % 28) + 1).padStart(2, "0")}  -12.50 EUR  ${reference}`,
  );
  return `EUR account ••ab12, last ${lines}:\n${rows.join("\n")}`;
}

describe("splitText", () => {
  it("should leave a text within the limit whole", () => {
    expect(splitText("Your balance is 42.00 EUR.", MESSENGER.textLimit)).to.deep.equal([
      "Your balance is 42.00 EUR.",
    ]);
  });

  it("should split a long payments list on line breaks, each part within Instagram's 1000 bytes", () => {
    const text = paymentsList(60);
    const parts = splitText(text, INSTAGRAM.textLimit);
    expect(parts.length).to.be.greaterThan(3);
    for (const part of parts) expect(bytes(part)).to.be.at.most(1000);
    // Nothing is lost: the parts are the lines of the text, in order, each line whole.
    expect(parts.join("\n")).to.equal(text);
  });

  it("should count Instagram's limit in bytes and Messenger's in characters", () => {
    const text = "é".repeat(1500); // 1500 characters, 3000 bytes
    expect(splitText(text, MESSENGER.textLimit)).to.have.length(1);
    const parts = splitText(text, INSTAGRAM.textLimit);
    expect(parts.map(bytes)).to.deep.equal([1000, 1000, 1000]);
    expect(parts.join("")).to.equal(text);
  });

  it("should split on a space when a line is too long, and never inside an emoji", () => {
    const words = Array.from({ length: 400 }, (_, i) => `word${i}`).join(" ");
    const parts = splitText(words, MESSENGER.textLimit);
    for (const part of parts) expect(part.length).to.be.at.most(2000);
    expect(parts.join(" ")).to.equal(words);
    const emoji = "💶".repeat(1200); // 2400 UTF-16 units, 4800 bytes
    for (const limit of [MESSENGER.textLimit, INSTAGRAM.textLimit]) {
      const pieces = splitText(emoji, limit);
      expect(pieces.join("")).to.equal(emoji);
      for (const piece of pieces) expect(piece).to.match(/^(💶)+$/u);
    }
  });

  it("should stop at MAX_PARTS and end the last part with an ellipsis within the limit", () => {
    const parts = splitText(paymentsList(400), INSTAGRAM.textLimit);
    expect(parts).to.have.length(MAX_PARTS);
    const last = parts.at(-1) as string;
    expect(last.endsWith("…")).to.equal(true);
    expect(bytes(last)).to.be.at.most(1000);
  });
});

describe("cutText", () => {
  it("should cut at a word break and add an ellipsis, within the limit", () => {
    const cut = cutText("Account number 1 (current)", { max: 20, unit: "utf16" });
    expect(cut).to.equal("Account number 1…");
    expect(cutText("Short", { max: 20, unit: "utf16" })).to.equal("Short");
  });
});

describe("splitReplies", () => {
  const reply = (index: number, text: string): OutboundReply => ({
    channel: "instagram",
    recipient: "1254459154682919",
    messageId: "m_1",
    sequence: 7,
    index,
    text,
    choices: [{ title: "Balance", payload: "BALANCE" }],
  });

  it("should give each part its own stable index, in order, with the choices on the last part", () => {
    const long = paymentsList(40);
    const split = splitReplies([reply(0, long), reply(1, "Anything else?")], INSTAGRAM.textLimit);
    const parts = splitText(long, INSTAGRAM.textLimit).length;
    expect(split.map((r) => r.index)).to.deep.equal([
      ...Array.from({ length: parts }, (_, p) => p),
      MAX_PARTS,
    ]);
    expect(split.map((r) => r.choices.length)).to.deep.equal([
      ...Array.from({ length: parts - 1 }, () => 0),
      1,
      1,
    ]);
    expect(split.every((r) => r.sequence === 7 && r.messageId === "m_1")).to.equal(true);
    // A redelivery splits the same way, so the outbox recognises every part.
    expect(splitReplies([reply(0, long), reply(1, "Anything else?")], INSTAGRAM.textLimit)).to.deep.equal(
      split,
    );
  });
});
