import { createHash } from "node:crypto";
import { expect } from "chai";
import { INSTAGRAM, MESSENGER } from "../../gateways/messenger/meta-channel.js";
import { type MetaEvent, parseMetaWebhook } from "../../gateways/messenger/parse.js";

const PSID = "1254459154682919";
const PAGE = "102290129340398";

/** A Messenger body carrying `messaging` events (channels.md §2.2). */
function body(messaging: readonly unknown[], object = "page"): Buffer {
  return Buffer.from(JSON.stringify({ object, entry: [{ id: PAGE, time: 1458692752478, messaging }] }));
}

function event(fields: Record<string, unknown>, sender: Record<string, unknown> = { id: PSID }) {
  return { sender, recipient: { id: PAGE }, timestamp: 1458692752478, ...fields };
}

function eventsOf(raw: Buffer, channel = MESSENGER): readonly MetaEvent[] {
  const parsed = parseMetaWebhook(raw, channel);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed.events;
}

describe("parseMetaWebhook", () => {
  it("should read a text message with its mid, sender and time", () => {
    const raw = body([
      event({ message: { mid: "mid.1457764197618:41d102a3e1ae206a38", text: "hello, world!" } }),
    ]);
    expect(eventsOf(raw)).to.deep.equal([
      {
        kind: "message",
        messageId: "mid.1457764197618:41d102a3e1ae206a38",
        from: PSID,
        sentAt: 1458692752478,
        text: "hello, world!",
      },
    ]);
  });

  it("should take a quick-reply tap's payload, not its title", () => {
    const raw = body([
      event({ message: { mid: "m_2", text: "Balance", quick_reply: { payload: "BALANCE" } } }),
    ]);
    const [tap] = eventsOf(raw);
    expect(tap).to.include({ kind: "message", messageId: "m_2", actionPayload: "BALANCE" });
    expect(tap).not.to.have.property("text");
  });

  it("should take a postback's payload under its mid", () => {
    const raw = body([event({ postback: { mid: "m_3", title: "Get Started", payload: "GET_STARTED" } })]);
    expect(eventsOf(raw)).to.deep.equal([
      { kind: "message", messageId: "m_3", from: PSID, sentAt: 1458692752478, actionPayload: "GET_STARTED" },
    ]);
  });

  it("should give a postback without a mid an id that a redelivery repeats and another tap does not", () => {
    const tap = (payload: string, timestamp: number) =>
      eventsOf(body([{ ...event({ postback: { title: "Go", payload } }), timestamp }]))[0];
    const first = tap("GO", 1);
    expect(first).to.include({ kind: "message", actionPayload: "GO" });
    expect((first as { messageId: string }).messageId).to.match(/^postback-sha256:[0-9a-f]{64}$/);
    expect(tap("GO", 1)).to.deep.equal(first);
    expect(tap("GO", 2)).not.to.deep.equal(first);
  });

  it("should acknowledge echoes, receipts, reactions and deleted messages without a reply", () => {
    const raw = body([
      event({ message: { mid: "m_4", text: "our own reply", is_echo: true, app_id: 1 } }),
      event({ delivery: { mids: ["m_4"], watermark: 1458668856253 } }),
      event({ read: { watermark: 1458668856253 } }),
      event({ reaction: { mid: "m_4", action: "react", reaction: "love" } }),
      event({ message: { mid: "m_5", is_deleted: true } }),
      event({ something_new: {} }),
    ]);
    expect(eventsOf(raw).map((e) => (e.kind === "ignored" ? e.type : e.kind))).to.deep.equal([
      "echo",
      "delivery",
      "read",
      "reaction",
      "deleted",
      "other",
    ]);
  });

  it("should mark attachments, stickers and unsupported content as unsupported", () => {
    const raw = body([
      event({ message: { mid: "m_6", attachments: [{ type: "image", payload: { url: "https://x" } }] } }),
      event({ message: { mid: "m_7", sticker_id: 369239263222822, attachments: [{ type: "image" }] } }),
      event({ message: { mid: "m_8", is_unsupported: true } }),
      event({ message: { mid: "m_9", text: "   " } }),
    ]);
    expect(eventsOf(raw).map((e) => [e.kind, "messageId" in e ? e.messageId : ""])).to.deep.equal([
      ["unsupported", "m_6"],
      ["unsupported", "m_7"],
      ["unsupported", "m_8"],
      ["unsupported", "m_9"],
    ]);
  });

  it("should keep body order over batched entries and skip standby events", () => {
    const raw = Buffer.from(
      JSON.stringify({
        object: "page",
        entry: [
          { id: PAGE, time: 1, messaging: [event({ message: { mid: "m_a", text: "one" } })] },
          { id: PAGE, time: 2, standby: [event({ message: { mid: "m_s", text: "not ours" } })] },
          { id: PAGE, time: 3, messaging: [event({ message: { mid: "m_b", text: "two" } })] },
        ],
      }),
    );
    expect(eventsOf(raw).map((e) => ("text" in e ? e.text : e.kind))).to.deep.equal([
      "one",
      "ignored",
      "two",
    ]);
  });

  it("should replace a mid the core cannot take by a stable digest", () => {
    const long = `aWdf${"Z".repeat(300)}`;
    const [message] = eventsOf(body([event({ message: { mid: long, text: "hi" } })], "instagram"), INSTAGRAM);
    const digest = createHash("sha256").update(long).digest("hex");
    expect(message).to.include({ messageId: `mid-sha256:${digest}`, text: "hi" });
  });

  it("should ignore a postback whose sender is a chat-plugin user_ref, with nobody to answer", () => {
    const raw = body([event({ postback: { mid: "m_u", payload: "GO" } }, { user_ref: "abc" })]);
    expect(eventsOf(raw)).to.deep.equal([{ kind: "ignored", type: "no_sender" }]);
  });

  it("should refuse another channel's object, bad JSON and untrusted shapes with a reason and no values", () => {
    const secretText = "my-secret-words";
    const cases: [Buffer, RegExp][] = [
      [body([event({ message: { mid: "m", text: secretText } })], "instagram"), /^invalid payload at object/],
      [Buffer.from("{not json"), /^invalid JSON$/],
      [Buffer.from(JSON.stringify({ object: "page", entry: "x" })), /^invalid payload at entry \(/],
      [
        body([event({ message: { text: secretText } })]),
        /^invalid payload at entry\.0\.messaging\.0\.message\.mid/,
      ],
      [body([event({ message: { mid: "m", text: 7 } })]), /message\.text \(invalid_type\)$/],
      [
        body([event({ message: { mid: "m", text: secretText } }, { id: "+4477" })]),
        /sender\.id \(invalid_format\)/,
      ],
      [
        body([event({ message: { mid: "m", text: secretText }, timestamp: "1" })]),
        /timestamp \(invalid_type\)/,
      ],
    ];
    for (const [raw, reason] of cases) {
      const parsed = parseMetaWebhook(raw, MESSENGER);
      expect(parsed, raw.toString()).to.have.property("error").that.matches(reason);
      expect((parsed as { error: string }).error).not.to.include(secretText);
    }
  });

  it("should read Instagram's object on the Instagram channel only", () => {
    const raw = body([event({ message: { mid: "m_ig", text: "hi" } })], "instagram");
    expect(eventsOf(raw, INSTAGRAM)).to.have.length(1);
    expect(parseMetaWebhook(raw, MESSENGER)).to.have.property("error");
  });
});
