import { toJsonString } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import { RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Channel } from "../../gen/teller/v1/common_pb.js";
import { type Session, SessionSchema, SessionService } from "../../gen/teller/v1/session_service_pb.js";
import { createManualClock, type ManualClock } from "../../lib/clock.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";

const m = SessionService.method;
const HOUR = 3_600_000;

for (const state of ["memory", "redis"] as const) {
  describe(`SessionService (${state} store)`, () => {
    let t: TestCore;
    let clock: ManualClock;
    const auth = async () => ({ authorization: `Bearer ${await t.token(["conversation"])}` });
    beforeEach(async () => {
      clock = createManualClock(Date.now());
      t = await startTestCore({
        state,
        database: "pglite",
        clock,
        env: { MAX_SESSIONS: "3", SESSION_TTL: "24h" },
      });
    });
    afterEach(() => t.close());

    const start = async (user: string) =>
      call(t.core.invoker, m.startSession, { channel: Channel.TELEGRAM, channelUserId: user }, await auth());

    it("should return the live session on a second start and never expose the raw user id", async () => {
      const first = await start("1001");
      const second = await start("1001");
      if (!first.ok || !second.ok) throw new Error("start failed");
      expect(first.response.created).to.equal(true);
      expect(second.response.created).to.equal(false);
      expect(second.response.session?.sessionId).to.equal(first.response.session?.sessionId);
      expect(first.response.session?.subjectId).to.match(/^[0-9a-f]{64}$/);
      expect(toJsonString(SessionSchema, first.response.session as Session)).not.to.include("1001");
    });

    it("should get and end a session, then answer NOT_FOUND", async () => {
      const started = await start("1002");
      if (!started.ok) throw started.error;
      const sessionId = started.response.session?.sessionId as string;
      const got = await ok(t.core.invoker, m.getSession, { sessionId }, await auth());
      expect(got.session?.sessionId).to.equal(sessionId);
      await ok(t.core.invoker, m.endSession, { sessionId }, await auth());
      const gone = await call(t.core.invoker, m.getSession, { sessionId }, await auth());
      expect(gone.ok ? 0 : gone.code).to.equal(Code.NotFound);
      const again = await call(t.core.invoker, m.endSession, { sessionId }, await auth());
      expect(again.ok ? 0 : again.code).to.equal(Code.NotFound);
    });

    it("should refuse a new session beyond the cap with RESOURCE_EXHAUSTED and a retry delay", async () => {
      for (const user of ["1", "2", "3"]) expect((await start(user)).ok).to.equal(true);
      const refused = await start("4");
      expect(refused.ok).to.equal(false);
      if (refused.ok) return;
      expect(refused.code).to.equal(Code.ResourceExhausted);
      expect(refused.reason).to.equal("SESSION_LIMIT_REACHED");
      expect(refused.error.findDetails(RetryInfoSchema)).to.have.length(1);
      // A live subject still gets its session at the cap.
      expect((await start("2")).ok).to.equal(true);
    });

    it("should expire sessions after 24 hours, freeing the cap, and count them in stats", async () => {
      for (const user of ["1", "2", "3"]) await start(user);
      clock.advance(2 * HOUR);
      const before = await ok(t.core.invoker, m.getSessionStats, {}, await auth());
      expect(before).to.include({ activeSessions: 3, createdLastHour: 0, createdLastDay: 3, maxSessions: 3 });
      clock.advance(23 * HOUR);
      const after = await ok(t.core.invoker, m.getSessionStats, {}, await auth());
      expect(after).to.include({ activeSessions: 0, createdLastDay: 0 });
      const fresh = await start("4");
      expect(fresh.ok && fresh.response.created).to.equal(true);
    });

    it("should validate the identity: channel whitelist, E.164 on phone channels, length", async () => {
      const a = await auth();
      const cases = [
        { channel: Channel.UNSPECIFIED, channelUserId: "x", field: "channel" },
        { channel: 99 as Channel, channelUserId: "x", field: "channel" },
        { channel: Channel.WHATSAPP, channelUserId: "0044123", field: "channel_user_id" },
        { channel: Channel.SMS, channelUserId: "+0123456789", field: "channel_user_id" },
        { channel: Channel.WEB, channelUserId: "", field: "channel_user_id" },
        { channel: Channel.WEB, channelUserId: "x".repeat(129), field: "channel_user_id" },
      ];
      for (const c of cases) {
        const outcome = await call(t.core.invoker, m.startSession, c, a);
        expect(outcome.ok ? 0 : outcome.code, c.field).to.equal(Code.InvalidArgument);
        if (!outcome.ok) expect(outcome.error.rawMessage).to.match(new RegExp(`^${c.field}:`));
      }
    });
  });
}
