import { expect } from "chai";
import { reservedKeyword } from "../../gateways/twilio/keywords.js";
import { menuNumber } from "../../gateways/twilio/menus.js";
import { parseTwilioForm } from "../../gateways/twilio/parse.js";
import { formParams } from "../../gateways/twilio/verify.js";

const SID = `SM${"0a".repeat(16)}`;
const ACCOUNT = `AC${"5e".repeat(16)}`;

/** An inbound SMS form as Twilio posts it (channels.md §4.5), with `changes` applied. */
function sms(changes: Record<string, string | undefined> = {}): Record<string, string> {
  const form: Record<string, string | undefined> = {
    ToCountry: "US",
    SmsMessageSid: SID,
    NumMedia: "0",
    SmsSid: SID,
    SmsStatus: "received",
    Body: "what is my balance?",
    To: "+15005550006",
    NumSegments: "1",
    MessageSid: SID,
    AccountSid: ACCOUNT,
    From: "+447700900123",
    ApiVersion: "2010-04-01",
    ...changes,
  };
  return Object.fromEntries(Object.entries(form).filter((e): e is [string, string] => e[1] !== undefined));
}

describe("parseTwilioForm", () => {
  it("should read an SMS as the sender, its text and its MessageSid", () => {
    expect(parseTwilioForm(sms())).to.deep.equal({
      kind: "message",
      channel: "sms",
      from: "+447700900123",
      address: "+447700900123",
      messageSid: SID,
      accountSid: ACCOUNT,
      text: "what is my balance?",
    });
  });

  it("should read WhatsApp through Twilio as the whatsapp channel, replying to the whatsapp: address", () => {
    const event = parseTwilioForm(
      sms({
        From: "whatsapp:+15551234567",
        To: "whatsapp:+14155238886",
        WaId: "15551234567",
        ProfileName: "Ann",
      }),
    );
    expect(event).to.include({ kind: "message", channel: "whatsapp", from: "+15551234567" });
    expect(event).to.include({ address: "whatsapp:+15551234567", text: "what is my balance?" });
  });

  it("should take a WhatsApp template button's payload as an action payload", () => {
    const event = parseTwilioForm(
      sms({ From: "whatsapp:+15551234567", ButtonPayload: "BALANCE", ButtonText: "Balance" }),
    );
    expect(event).to.include({ kind: "message", actionPayload: "BALANCE" });
    expect(event).not.to.have.property("text");
  });

  it("should call media, locations and empty texts unsupported", () => {
    const withMedia = sms({
      NumMedia: "1",
      MediaUrl0: "https://api.twilio.com/x",
      MediaContentType0: "image/jpeg",
    });
    const location = sms({ From: "whatsapp:+15551234567", Body: "", Latitude: "51.5", Longitude: "-0.1" });
    for (const form of [withMedia, location, sms({ Body: "  " }), sms({ Body: undefined })]) {
      expect(parseTwilioForm(form)).to.include({ kind: "unsupported" });
    }
  });

  it("should make the reserved SMS keywords keyword events, never messages", () => {
    expect(parseTwilioForm(sms({ Body: "Stop" }))).to.include({ kind: "keyword", keyword: "opt-out" });
    expect(parseTwilioForm(sms({ Body: " quit " }))).to.include({ kind: "keyword", keyword: "opt-out" });
    // CANCEL cancels a payment in the dialog (keywords.ts explains why it is not dropped).
    expect(parseTwilioForm(sms({ Body: "Cancel" }))).to.include({ kind: "message", text: "Cancel" });
    expect(parseTwilioForm(sms({ Body: "START" }))).to.include({ kind: "keyword", keyword: "opt-in" });
    expect(parseTwilioForm(sms({ Body: "help" }))).to.include({ kind: "keyword", keyword: "help" });
    // On WhatsApp the words are conversation, unless Twilio's Advanced Opt-Out says otherwise.
    expect(parseTwilioForm(sms({ From: "whatsapp:+15551234567", Body: "stop" }))).to.include({
      kind: "message",
      text: "stop",
    });
    const marked = sms({ From: "whatsapp:+15551234567", Body: "PARAR", OptOutType: "STOP" });
    expect(parseTwilioForm(marked)).to.include({ kind: "keyword", keyword: "opt-out" });
    expect(parseTwilioForm(sms({ Body: "AYUDA", OptOutType: "HELP" }))).to.include({ keyword: "help" });
    expect(parseTwilioForm(sms({ Body: "hola", OptOutType: "other" }))).to.include({ kind: "message" });
  });

  it("should acknowledge status callbacks and senders that are not phone numbers without a turn", () => {
    expect(parseTwilioForm(sms({ MessageStatus: "delivered", SmsStatus: "delivered" }))).to.deep.equal({
      kind: "ignored",
      reason: "status",
    });
    for (const from of ["12345", "Bank", "messenger:1234567890", "+0123", "whatsapp:15551234567"]) {
      expect(parseTwilioForm(sms({ From: from })), from).to.deep.equal({ kind: "ignored", reason: "sender" });
    }
  });

  it("should refuse forms Twilio does not send, naming the field but never a value", () => {
    const cases: Record<string, string | string[] | undefined>[] = [
      { MessageSid: undefined },
      { MessageSid: "SM123" },
      { AccountSid: "not-an-account" },
      { From: undefined },
      { NumMedia: "many" },
    ];
    for (const change of cases) {
      const result = parseTwilioForm({ ...sms(), ...change });
      expect(result, JSON.stringify(change))
        .to.have.property("error")
        .that.matches(/^invalid payload at \w+ \(/);
    }
    // A field we read, sent twice, is not one message.
    const twice = formParams(Buffer.from(`${new URLSearchParams(sms())}&Body=again`));
    expect(parseTwilioForm(twice)).to.deep.equal({ error: "invalid payload at Body (invalid_type)" });
    const secret = parseTwilioForm({ ...sms({ From: "+447700900999" }), MessageSid: "leaky-value" });
    expect(JSON.stringify(secret)).not.to.match(/leaky|447700900999/);
  });
});

describe("reservedKeyword", () => {
  it("should know Twilio's opt-out, opt-in and help words, whole-message and case-blind only", () => {
    for (const word of ["STOP", "stopall", "Unsubscribe", "end", "QUIT", "revoke", "OPTOUT", "stop."]) {
      expect(reservedKeyword(word), word).to.equal("opt-out");
    }
    for (const word of ["START", "unstop"]) expect(reservedKeyword(word), word).to.equal("opt-in");
    for (const word of ["HELP", "info", " Help! "]) expect(reservedKeyword(word), word).to.equal("help");
    for (const text of ["stop please", "cancel", "yes", "YES", "help me with my balance", "stopp"]) {
      expect(reservedKeyword(text), text).to.equal(undefined);
    }
  });
});

describe("menuNumber", () => {
  it("should read a reply that is just an option's number", () => {
    expect(menuNumber("1")).to.equal(1);
    expect(menuNumber(" 2. ")).to.equal(2);
    expect(menuNumber("10)")).to.equal(10);
  });

  it("should leave anything else as text: zero, codes, words, several numbers", () => {
    for (const text of ["0", "00", "123456", "1 2", "one", "1 please", "", "-1", "1.5"]) {
      expect(menuNumber(text), text).to.equal(undefined);
    }
  });
});
