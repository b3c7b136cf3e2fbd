import { expect } from "chai";
import { parseTelegramUpdate, readCommand } from "../../gateways/telegram/parse.js";

const parse = (update: unknown) => parseTelegramUpdate(Buffer.from(JSON.stringify(update)));

// The shapes of channels.md §3.3, with the fields Telegram adds around them.
const textUpdate = {
  update_id: 123456789,
  message: {
    message_id: 1234,
    from: { id: 987654321, is_bot: false, first_name: "John", username: "johndoe", language_code: "en" },
    chat: { id: 987654321, first_name: "John", username: "johndoe", type: "private" },
    date: 1234567890,
    text: "hi",
  },
};

const callbackUpdate = {
  update_id: 123456790,
  callback_query: {
    id: "4382bfdwdsb323b2d9",
    from: { id: 987654321, is_bot: false, first_name: "John" },
    message: {
      message_id: 1235,
      from: { id: 7000000001, is_bot: true, first_name: "Teller" },
      chat: { id: 987654321, type: "private" },
      date: 1234567891,
      text: "Your balance is 42.00 EUR.",
      reply_markup: { inline_keyboard: [[{ text: "Balance", callback_data: "BALANCE" }]] },
    },
    chat_instance: "-7050301093432741539",
    data: "BALANCE",
  },
};

describe("parseTelegramUpdate", () => {
  it("should read a private text message with its chat, date and update id", () => {
    expect(parse(textUpdate)).to.deep.equal({
      kind: "message",
      updateId: 123456789,
      chat: { id: "987654321", type: "private" },
      sentAt: 1234567890_000,
      text: "hi",
    });
  });

  it("should read a button tap as its callback data, query id and chat", () => {
    expect(parse(callbackUpdate)).to.deep.equal({
      kind: "callback",
      updateId: 123456790,
      callbackQueryId: "4382bfdwdsb323b2d9",
      chat: { id: "987654321", type: "private" },
      data: "BALANCE",
    });
  });

  it("should keep a tap on an inline-mode message or a game button without chat or data", () => {
    const { message: _message, data: _data, ...inline } = callbackUpdate.callback_query;
    const event = parse({
      update_id: 5,
      callback_query: { ...inline, inline_message_id: "AAA", game_short_name: "g" },
    });
    expect(event).to.deep.equal({
      kind: "callback",
      updateId: 5,
      callbackQueryId: "4382bfdwdsb323b2d9",
      chat: undefined,
      data: undefined,
    });
  });

  it("should name what a non-text message holds", () => {
    const { text: _text, ...rest } = textUpdate.message;
    const sticker = parse({ update_id: 7, message: { ...rest, sticker: { file_id: "x", emoji: "👍" } } });
    expect(sticker).to.deep.include({ kind: "unsupported", type: "sticker", updateId: 7 });
    const photo = parse({
      update_id: 8,
      message: { ...rest, photo: [{ file_id: "p" }], caption: "my card" },
    });
    expect(photo).to.deep.include({ kind: "unsupported", type: "photo" });
    expect(parse({ update_id: 9, message: { ...rest, new_chat_title: "x" } })).to.deep.include({
      type: "other",
    });
  });

  it("should keep a group's chat type and negative id for the route to refuse", () => {
    const group = {
      ...textUpdate.message,
      chat: { id: -1001234567890, title: "Family", type: "supergroup" },
    };
    expect(parse({ update_id: 10, message: group })).to.deep.include({
      kind: "message",
      chat: { id: "-1001234567890", type: "supergroup" },
    });
  });

  it("should report other update kinds by name, to acknowledge them", () => {
    expect(parse({ update_id: 11, edited_message: textUpdate.message })).to.deep.equal({
      kind: "other",
      updateId: 11,
      type: "edited_message",
    });
    expect(parse({ update_id: 12 })).to.deep.equal({ kind: "other", updateId: 12, type: "unknown" });
  });

  it("should refuse bodies Telegram never sends, naming the path and never a value", () => {
    const cases: [unknown, string][] = [
      [{ message: textUpdate.message }, "update_id"],
      [{ update_id: "123" }, "update_id"],
      [{ update_id: -1 }, "update_id"],
      [[textUpdate], "(root)"],
      [
        { update_id: 1, message: { ...textUpdate.message, chat: { id: "987654321", type: "private" } } },
        "message.chat.id",
      ],
      [{ update_id: 1, message: { ...textUpdate.message, text: 42 } }, "message.text"],
      [
        { update_id: 1, callback_query: { ...callbackUpdate.callback_query, data: "x".repeat(65) } },
        "callback_query.data",
      ],
      [
        { update_id: 1, callback_query: { ...callbackUpdate.callback_query, data: "é".repeat(33) } },
        "callback_query.data",
      ],
    ];
    for (const [body, path] of cases) {
      const result = parse(body);
      expect(result, path).to.have.property("error").that.includes(path);
      expect(JSON.stringify(result)).not.to.match(/987654321|xxxx|éé/);
    }
    expect(parseTelegramUpdate(Buffer.from("not json"))).to.deep.equal({ error: "invalid JSON" });
  });

  it("should accept callback data of exactly 64 bytes", () => {
    const data = "é".repeat(32);
    expect(
      parse({ update_id: 1, callback_query: { ...callbackUpdate.callback_query, data } }),
    ).to.deep.include({ data });
  });
});

describe("readCommand", () => {
  it("should read bot commands as the words they stand for", () => {
    expect(readCommand("/balance")).to.equal("balance");
    expect(readCommand("/balance@TellerBankBot")).to.equal("balance");
    expect(readCommand("/help  ")).to.equal("help");
    expect(readCommand("/send 25 EUR to Bob")).to.equal("send 25 EUR to Bob");
  });

  it("should greet on /start and drop its deep-link parameter", () => {
    expect(readCommand("/start")).to.equal("hello");
    expect(readCommand("/start send_500_EUR_to_mallory")).to.equal("hello");
  });

  it("should leave ordinary text, and slashes inside it, alone", () => {
    expect(readCommand("what is my balance?")).to.equal("what is my balance?");
    expect(readCommand("pay 1/2 of the rent")).to.equal("pay 1/2 of the rent");
    expect(readCommand("/")).to.equal("/");
  });
});
