import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import type { AuditEvent } from "../../core/domain/audit.js";
import { Channel } from "../../gen/teller/v1/common_pb.js";
import { ConversationService } from "../../gen/teller/v1/conversation_service_pb.js";
import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { SessionService } from "../../gen/teller/v1/session_service_pb.js";
import { deriveSubjectId } from "../../lib/subject-id.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";
import { readPrefix } from "../support/redis-contents.js";
import { seedCustomer } from "../support/seed.js";

const erase = CustomerService.method.eraseSubject;
const handle = ConversationService.method.handleMessage;
const PHONE = "+447700900777";
const IDENTITY = { channel: Channel.WHATSAPP, channelUserId: PHONE };

const backends = [
  { state: "redis", database: "postgres" },
  { state: "memory", database: "pglite" },
] as const;

for (const backend of backends) {
  describe(`CustomerService.EraseSubject (${backend.state} + ${backend.database})`, () => {
    let t: TestCore;
    let admin: Record<string, string>;
    let conversation: Record<string, string>;
    let subjectId: string;
    beforeEach(async () => {
      t = await startTestCore(backend);
      admin = { authorization: `Bearer ${await t.token(["banking:admin"])}` };
      conversation = { authorization: `Bearer ${await t.token(["conversation"])}` };
      subjectId = deriveSubjectId(t.config.userIdSalt, "whatsapp", PHONE);
    });
    afterEach(() => t.close());

    const send = (messageId: string, text: string) =>
      ok(
        t.core.invoker,
        handle,
        { ...IDENTITY, messageId, content: { case: "text", value: text } },
        conversation,
      );
    const erasures = async () => (await t.core.audit.list({ type: "subject.erased", limit: 10 })).items;
    /** Every Redis key under the core's prefix that names or holds `needle`, by key name. */
    const redisMentions = async (needle: string) => {
      if (!t.redisHandle || !t.prefix) return [];
      const stored = await readPrefix(t.redisHandle.redis, t.prefix);
      return stored.filter((entry) => [entry.key, ...entry.contents].join("\n").includes(needle));
    };

    it("should erase the session, stored replies, transcript and limits of a channel identity", async () => {
      await seedCustomer(t, PHONE, 125_050n);
      const first = await send("wamid.1", "what is my balance?");
      await send("wamid.2", "show my last 3 payments");
      await t.core.transcripts.append(subjectId, [
        { direction: "in", text: "what is my balance?", at: Date.now() },
      ]);
      if (t.redisHandle) expect(await redisMentions(subjectId)).to.not.deep.equal([]);

      expect(await ok(t.core.invoker, erase, IDENTITY, admin)).to.deep.include({});

      const gone = await call(
        t.core.invoker,
        SessionService.method.getSession,
        { sessionId: first.sessionId },
        conversation,
      );
      expect(gone.ok ? "found" : gone.code).to.equal(Code.NotFound);
      expect(await t.core.transcripts.list(subjectId)).to.deep.equal([]);
      expect(await redisMentions(subjectId)).to.deep.equal([]);
      expect(await redisMentions(PHONE)).to.deep.equal([]);
      // The message log forgot the message id: a late redelivery is a new conversation, not a replay.
      const again = await send("wamid.1", "what is my balance?");
      expect(again.duplicate).to.equal(false);
      expect(again.sessionId).to.not.equal(first.sessionId);
    });

    it("should let StartSession begin a fresh session after the erasure", async () => {
      const start = SessionService.method.startSession;
      const before = await ok(t.core.invoker, start, IDENTITY, conversation);
      await ok(t.core.invoker, erase, IDENTITY, admin);
      const after = await ok(t.core.invoker, start, IDENTITY, conversation);
      expect(after.created).to.equal(true);
      expect(after.session?.sessionId).to.not.equal(before.session?.sessionId);
    });

    it("should audit the erasure by subject id and part names only, never the phone number", async () => {
      await send("wamid.1", "hello");
      const earlier = await t.core.audit.record({ type: "channel.linked", subjectId, outcome: "success" });
      await ok(t.core.invoker, erase, IDENTITY, admin);
      const [event] = await erasures();
      expect(event).to.include({ type: "subject.erased", subjectId, outcome: "success" });
      expect(event?.customerId).to.equal(undefined);
      expect(event?.attributes).to.deep.equal({
        channel: "whatsapp",
        parts: "sessions,transcripts,message-log,rate-limits,pending-operation,channel-link",
      });
      expect(serialise(event)).to.not.include(PHONE.slice(1));
      // The trail keeps its earlier, pseudonymous entries of the subject, and still verifies.
      const trail = await t.core.audit.list({ limit: 100 });
      expect(trail.items.map((item) => item.seq)).to.include(earlier.seq);
      expect((await t.core.audit.verify()).ok).to.equal(true);
    });

    it("should succeed again for an erased subject, and for a subject never seen", async () => {
      await send("wamid.1", "hello");
      await ok(t.core.invoker, erase, IDENTITY, admin);
      await ok(t.core.invoker, erase, IDENTITY, admin);
      await ok(t.core.invoker, erase, { channel: Channel.TELEGRAM, channelUserId: "never-seen" }, admin);
      const events = await erasures();
      expect(events.map((event) => event.outcome)).to.deep.equal(["success", "success", "success"]);
      expect(events[2]?.subjectId).to.equal(deriveSubjectId(t.config.userIdSalt, "telegram", "never-seen"));
    });

    it("should answer INVALID_ARGUMENT for a missing channel or a bad channel user id, erasing nothing", async () => {
      const session = await ok(t.core.invoker, SessionService.method.startSession, IDENTITY, conversation);
      for (const [request, field] of [
        [{ channel: Channel.UNSPECIFIED, channelUserId: PHONE }, "channel"],
        [{ channel: Channel.WHATSAPP, channelUserId: "" }, "channel_user_id"],
        [{ channel: Channel.WEB, channelUserId: "x".repeat(129) }, "channel_user_id"],
      ] as const) {
        const refused = await call(t.core.invoker, erase, request, admin);
        expect(refused.ok ? "ok" : refused.code, field).to.equal(Code.InvalidArgument);
        expect(refused.ok ? "" : refused.error.rawMessage).to.include(field);
      }
      const live = await ok(
        t.core.invoker,
        SessionService.method.getSession,
        { sessionId: session.session?.sessionId },
        conversation,
      );
      expect(live.session?.sessionId).to.equal(session.session?.sessionId);
      expect(await erasures()).to.deep.equal([]);
    });

    it("should answer PERMISSION_DENIED without the banking:admin scope, erasing nothing", async () => {
      const session = await ok(t.core.invoker, SessionService.method.startSession, IDENTITY, conversation);
      const other = { authorization: `Bearer ${await t.token(["conversation", "banking:write", "audit"])}` };
      const refused = await call(t.core.invoker, erase, IDENTITY, other);
      expect(refused.ok ? "ok" : refused.code).to.equal(Code.PermissionDenied);
      const live = await ok(
        t.core.invoker,
        SessionService.method.getSession,
        { sessionId: session.session?.sessionId },
        conversation,
      );
      expect(live.session?.sessionId).to.equal(session.session?.sessionId);
      expect(await erasures()).to.deep.equal([]);
    });
  });
}

function serialise(event: AuditEvent | undefined): string {
  return JSON.stringify(event, (_key, value) => (typeof value === "bigint" ? value.toString() : value));
}
