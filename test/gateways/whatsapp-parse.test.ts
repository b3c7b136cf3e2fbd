import { expect } from "chai";
import {
  type ParsedWebhook,
  parseWhatsAppWebhook,
  type WhatsAppEvent,
} from "../../gateways/whatsapp/parse.js";

const PHONE_NUMBER_ID = "106540352242922";

function message(overrides: Record<string, unknown>): Record<string, unknown> {
  return { from: "16505551234", id: "wamid.TEST1", timestamp: "1749416383", ...overrides };
}

/** A webhook body shaped like channels.md §1.4, with unknown extra fields as Meta adds them. */
function body(value: Record<string, unknown>, extra: Record<string, unknown> = {}): Buffer {
  const change = {
    field: "messages",
    value: {
      messaging_product: "whatsapp",
      metadata: { display_phone_number: "15550783881", phone_number_id: PHONE_NUMBER_ID, new_field: 1 },
      contacts: [{ profile: { name: "Sheena Nelson" }, wa_id: "16505551234" }],
      ...value,
    },
  };
  return Buffer.from(
    JSON.stringify({
      object: "whatsapp_business_account",
      entry: [{ id: "102290129340398", changes: [change] }],
      ...extra,
    }),
  );
}

function events(raw: Buffer): readonly WhatsAppEvent[] {
  const parsed = parseWhatsAppWebhook(raw);
  if ("error" in parsed) throw new Error(`expected events, got ${parsed.error}`);
  return parsed.events;
}

function error(raw: Buffer): string {
  const parsed: ParsedWebhook | { error: string } = parseWhatsAppWebhook(raw);
  if (!("error" in parsed)) throw new Error("expected an error");
  return parsed.error;
}

describe("parseWhatsAppWebhook", () => {
  it("should map a text message with an E.164 sender and ms timestamp", () => {
    const raw = body({ messages: [message({ type: "text", text: { body: "what is my balance?" } })] });
    expect(events(raw)).to.deep.equal([
      {
        kind: "message",
        messageId: "wamid.TEST1",
        from: "+16505551234",
        phoneNumberId: PHONE_NUMBER_ID,
        sentAt: 1_749_416_383_000,
        text: "what is my balance?",
      },
    ]);
  });

  it("should map a reply-button tap to its button id", () => {
    const interactive = { type: "button_reply", button_reply: { id: "balance:main", title: "Main account" } };
    const context = { from: "15550783881", id: "wamid.OUT1" };
    const [event] = events(body({ messages: [message({ type: "interactive", interactive, context })] }));
    expect(event).to.include({ kind: "message", actionPayload: "balance:main", from: "+16505551234" });
    expect(event).to.not.have.property("text");
  });

  it("should map a list selection to its row id", () => {
    const interactive = {
      type: "list_reply",
      list_reply: { id: "acct:2", title: "Savings", description: "x" },
    };
    const [event] = events(body({ messages: [message({ type: "interactive", interactive })] }));
    expect(event).to.include({ kind: "message", actionPayload: "acct:2" });
  });

  it("should map a template quick-reply button to its payload", () => {
    const button = { payload: "STOP_PROMOTIONS", text: "Stop" };
    const [event] = events(body({ messages: [message({ type: "button", button })] }));
    expect(event).to.include({ kind: "message", actionPayload: "STOP_PROMOTIONS" });
  });

  it("should report an image as unsupported, without its content", () => {
    const image = { id: "MEDIA1", mime_type: "image/jpeg", sha256: "abc" };
    expect(events(body({ messages: [message({ type: "image", image })] }))).to.deep.equal([
      {
        kind: "unsupported",
        messageId: "wamid.TEST1",
        from: "+16505551234",
        phoneNumberId: PHONE_NUMBER_ID,
        sentAt: 1_749_416_383_000,
        type: "image",
      },
    ]);
  });

  it("should report an interactive sub-type we never send as unsupported", () => {
    const interactive = { type: "nfm_reply", nfm_reply: { response_json: "{}" } };
    const [event] = events(body({ messages: [message({ type: "interactive", interactive })] }));
    expect(event).to.include({ kind: "unsupported", type: "interactive.nfm_reply" });
  });

  it("should turn a statuses-only body into status events and no message", () => {
    const statuses = [
      { id: "wamid.OUT1", status: "delivered", timestamp: "1749416400", recipient_id: "16505551234" },
      {
        id: "wamid.OUT2",
        status: "failed",
        timestamp: "1749416401",
        recipient_id: "16505551234",
        errors: [{ code: 131047, title: "Re-engagement message" }],
      },
    ];
    const found = events(body({ contacts: undefined, statuses }));
    expect(found).to.deep.equal([
      {
        kind: "status",
        messageId: "wamid.OUT1",
        status: "delivered",
        phoneNumberId: PHONE_NUMBER_ID,
        at: 1_749_416_400_000,
        errorCodes: [],
      },
      {
        kind: "status",
        messageId: "wamid.OUT2",
        status: "failed",
        phoneNumberId: PHONE_NUMBER_ID,
        at: 1_749_416_401_000,
        errorCodes: [131047],
      },
    ]);
  });

  it("should keep every event of a mixed batch in order and skip other fields", () => {
    const raw = Buffer.from(
      JSON.stringify({
        object: "whatsapp_business_account",
        entry: [
          {
            id: "1",
            changes: [
              { field: "message_template_status_update", value: { event: "APPROVED", anything: [1, 2] } },
              { field: "messages", value: JSON.parse(body({}).toString()).entry[0].changes[0].value },
            ],
          },
          {
            id: "2",
            changes: [
              {
                field: "messages",
                value: {
                  messaging_product: "whatsapp",
                  metadata: { phone_number_id: "2" },
                  messages: [
                    message({ id: "wamid.A", type: "text", text: { body: "hi" } }),
                    message({ id: "wamid.B", type: "sticker", sticker: {} }),
                  ],
                  statuses: [{ id: "wamid.OUT", status: "read", timestamp: "1" }],
                  errors: [{ code: 131000, title: "Something went wrong" }],
                },
              },
            ],
          },
        ],
      }),
    );
    expect(events(raw).map((e) => `${e.kind}:${"messageId" in e ? e.messageId : e.code}`)).to.deep.equal([
      "message:wamid.A",
      "unsupported:wamid.B",
      "status:wamid.OUT",
      "error:131000",
    ]);
  });

  it("should parse a body with 1000 messages", () => {
    const messages = Array.from({ length: 1000 }, (_, i) =>
      message({
        id: `wamid.M${i}`,
        from: String(16505550000 + i),
        type: "text",
        text: { body: `hello ${i}` },
      }),
    );
    const found = events(body({ messages }));
    expect(found).to.have.length(1000);
    expect(found[999]).to.include({ messageId: "wamid.M999", from: "+16505550999", text: "hello 999" });
  });

  it("should parse a body with 1000 entries of one update each", () => {
    const one = JSON.parse(body({ messages: [message({ type: "text", text: { body: "hi" } })] }).toString());
    const entry = Array.from({ length: 1000 }, () => one.entry[0]);
    const found = events(Buffer.from(JSON.stringify({ ...one, entry })));
    expect(found).to.have.length(1000);
  });

  it("should answer bad JSON with an error instead of throwing", () => {
    expect(error(Buffer.from("{not json"))).to.equal("invalid JSON");
    expect(error(Buffer.alloc(0))).to.equal("invalid JSON");
    expect(error(Buffer.from("null"))).to.match(/^invalid payload/);
  });

  it("should refuse a body for another object", () => {
    expect(error(body({}, { object: "page" }))).to.equal("invalid payload at object (invalid_value)");
  });

  it("should refuse missing fields with a short reason naming the path", () => {
    expect(error(body({ metadata: {} }))).to.equal(
      "invalid payload at entry.0.changes.0.value.metadata.phone_number_id (invalid_type)",
    );
    expect(error(body({ messages: [message({ type: "text" })] }))).to.equal(
      "invalid payload at entry.0.changes.0.value.messages.0 (missing text content)",
    );
    expect(
      error(body({ messages: [message({ id: undefined, type: "text", text: { body: "x" } })] })),
    ).to.match(/messages\.0\.id/);
    const tap = message({ type: "interactive", interactive: { type: "button_reply" } });
    expect(error(body({ messages: [tap] }))).to.match(/missing interactive content/);
  });

  it("should refuse a sender that is not 8 to 15 digits, without echoing it", () => {
    for (const from of ["+16505551234", "1650555123x", "1234567", "1234567890123456", "06505551234"]) {
      const reason = error(body({ messages: [message({ from, type: "text", text: { body: "x" } })] }));
      expect(reason).to.equal("invalid payload at entry.0.changes.0.value.messages.0.from (invalid_format)");
      expect(reason).to.not.include(from);
    }
  });

  it("should refuse a numeric timestamp (Meta sends a string)", () => {
    const reason = error(
      body({ messages: [message({ timestamp: 1749416383, type: "text", text: { body: "x" } })] }),
    );
    expect(reason).to.match(/messages\.0\.timestamp/);
  });
});
