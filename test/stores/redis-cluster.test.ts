import { Code } from "@connectrpc/connect";
import { expect } from "chai";
import type { Cluster } from "ioredis";
import { readDevSms } from "../../core/stores/otp/dev-outbox-sender.js";
import { Channel } from "../../gen/teller/v1/common_pb.js";
import { ConversationService } from "../../gen/teller/v1/conversation_service_pb.js";
import { CustomerService } from "../../gen/teller/v1/customer_service_pb.js";
import { SessionService } from "../../gen/teller/v1/session_service_pb.js";
import { Purpose, StepUpService } from "../../gen/teller/v1/step_up_service_pb.js";
import { deriveSubjectId } from "../../lib/subject-id.js";
import { startTestCore, type TestCore } from "../support/core.js";
import { call, ok } from "../support/invoke.js";
import { keysByMaster, startRedisCluster, type TestRedisCluster } from "../support/redis-cluster.js";
import { readPrefix } from "../support/redis-contents.js";
import { seedCustomer } from "../support/seed.js";

const handle = ConversationService.method.handleMessage;
// Under startTestCore's USER_ID_SALT these numbers' subjects hash to slots 4874, 6173 and 15520:
// one in each third of the slots, so one on each master of the test cluster.
const CUSTOMERS = [
  { phone: "+447700900401", name: "Ada", minorUnits: 42_00n, balance: "Your balance is 42.00 EUR." },
  // seedCustomer deposits under one idempotency key per core, so only the first customer gets money.
  { phone: "+447700900400", name: "Ben", minorUnits: 0n, balance: "Your balance is 0.00 EUR." },
  { phone: "+447700900405", name: "Cal", minorUnits: 0n, balance: "Your balance is 0.00 EUR." },
] as const;
const [ADA, BEN] = CUSTOMERS;

describe("the core on a Redis Cluster (REDIS_CLUSTER=true)", function () {
  // Three redis-server processes start once for the file; each test has a key prefix of its own.
  this.timeout(30_000);
  let cluster: TestRedisCluster;
  let t: TestCore | undefined;
  before(async () => {
    cluster = await startRedisCluster();
  });
  after(() => cluster?.stop());
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  const start = async (env: Record<string, string> = {}) => {
    const core = await startTestCore({ cluster, env });
    t = core;
    return core;
  };
  const token = async (core: TestCore, scope: string) => ({
    authorization: `Bearer ${await core.token([scope])}`,
  });
  const send = async (core: TestCore, phone: string, messageId: string, text: string) =>
    call(
      core.core.invoker,
      handle,
      { channel: Channel.WHATSAPP, channelUserId: phone, messageId, content: { case: "text", value: text } },
      await token(core, "conversation"),
    );
  const subjectOf = (core: TestCore, phone: string) =>
    deriveSubjectId(core.config.userIdSalt, "whatsapp", phone);
  const masters = (core: TestCore) => keysByMaster(core.redisHandle?.redis as Cluster, core.prefix as string);

  it("should answer each customer's balance once, a redelivery with the same replies, state spread over the masters", async () => {
    const core = await start({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    for (const c of CUSTOMERS) await seedCustomer(core, c.phone, c.minorUnits, c.name);
    for (const c of CUSTOMERS) {
      const first = await send(core, c.phone, `wamid.${c.name}`, "what is my balance?");
      const again = await send(core, c.phone, `wamid.${c.name}`, "what is my balance?");
      if (!first.ok || !again.ok) throw new Error("HandleMessage failed on the cluster");
      expect(first.response.replies[0]?.text).to.equal(c.balance);
      expect(first.response.duplicate).to.equal(false);
      expect(again.response.duplicate).to.equal(true);
      expect(again.response.replies).to.deep.equal(first.response.replies);
      expect(again.response.sessionId).to.equal(first.response.sessionId);
    }
    const spread = await masters(core);
    const holding = [...spread.values()].filter((keys) => keys.length > 0);
    expect(holding.length, "masters holding keys").to.be.greaterThan(1);
    // Each subject's tagged keys (session, message log, lock) sit together on one master.
    const homes = CUSTOMERS.map((c) => {
      const tag = `{${subjectOf(core, c.phone)}}`;
      const nodes = [...spread].filter(([, keys]) => keys.some((key) => key.includes(tag)));
      expect(nodes, c.name).to.have.length(1);
      return nodes[0]?.[0];
    });
    expect(new Set(homes).size, "masters holding the customers' conversations").to.equal(3);
    expect(await core.core.readiness()).to.include({ redis: true });
  });

  it("should start, find, cap and end sessions in the cluster", async () => {
    const core = await start({ MAX_SESSIONS: "2" });
    const m = SessionService.method;
    const auth = await token(core, "conversation");
    const startFor = (user: string) =>
      call(core.core.invoker, m.startSession, { channel: Channel.TELEGRAM, channelUserId: user }, auth);
    const first = await startFor("2001");
    const again = await startFor("2001");
    if (!first.ok || !again.ok) throw new Error("StartSession failed on the cluster");
    expect([first.response.created, again.response.created]).to.deep.equal([true, false]);
    expect(again.response.session?.sessionId).to.equal(first.response.session?.sessionId);
    expect((await startFor("2002")).ok).to.equal(true);
    const refused = await startFor("2003");
    expect(refused.ok ? "started" : refused.reason).to.equal("SESSION_LIMIT_REACHED");
    const sessionId = first.response.session?.sessionId as string;
    expect((await ok(core.core.invoker, m.getSession, { sessionId }, auth)).session?.sessionId).to.equal(
      sessionId,
    );
    await ok(core.core.invoker, m.endSession, { sessionId }, auth);
    const gone = await call(core.core.invoker, m.getSession, { sessionId }, auth);
    expect(gone.ok ? "found" : gone.code).to.equal(Code.NotFound);
    expect((await startFor("2003")).ok, "the ended session freed its place").to.equal(true);
    expect(await ok(core.core.invoker, m.getSessionStats, {}, auth)).to.include({
      activeSessions: 2,
      maxSessions: 2,
    });
  });

  it("should text a one-time code, count a wrong one down and accept the right one once", async () => {
    const core = await start();
    const { customerId, accountId } = await seedCustomer(core, ADA.phone, ADA.minorUnits, ADA.name);
    const m = StepUpService.method;
    const auth = await token(core, "banking:write");
    const binding = {
      case: "transfer" as const,
      value: {
        fromAccountId: accountId,
        payee: { case: "toAccountId" as const, value: "acc_payee9876" },
        amount: { currency: "EUR", minorUnits: 25_00n },
      },
    };
    const { challengeId } = await ok(
      core.core.invoker,
      m.startChallenge,
      { customerId, purpose: Purpose.TRANSFER, binding },
      auth,
    );
    const [sms] = await readDevSms({ redis: core.redisHandle?.redis, prefix: core.prefix }, ADA.phone);
    const code = /code (\d{6})/.exec(sms?.text ?? "")?.[1] as string;
    expect(code).to.match(/^\d{6}$/);
    const wrong = await call(
      core.core.invoker,
      m.verifyChallenge,
      { challengeId, code: code === "000000" ? "111111" : "000000" },
      auth,
    );
    expect(wrong.ok ? {} : { reason: wrong.reason, left: wrong.metadata.attempts_left }).to.deep.equal({
      reason: "OTP_INVALID",
      left: "4",
    });
    const verified = await ok(core.core.invoker, m.verifyChallenge, { challengeId, code }, auth);
    expect(verified.stepUpToken).to.match(/^ey/);
    const replayed = await call(core.core.invoker, m.verifyChallenge, { challengeId, code }, auth);
    expect(replayed.ok, "a used code verifies once").to.equal(false);
  });

  it("should refuse messages beyond the per-subject limit with RATE_LIMITED, counting in the cluster", async () => {
    const core = await start({ RATE_LIMIT_PER_SUBJECT: "3/1m" });
    for (let i = 0; i < 3; i++) expect((await send(core, ADA.phone, `m${i}`, "hello")).ok).to.equal(true);
    const limited = await send(core, ADA.phone, "m3", "hello");
    expect(limited.ok ? "answered" : [limited.code, limited.reason]).to.deep.equal([
      Code.ResourceExhausted,
      "RATE_LIMITED",
    ]);
    // The count lives in the cluster, not in the in-memory insurance limiter.
    const counter = `${core.prefix}:rl:message:${subjectOf(core, ADA.phone)}`;
    expect(Number(await core.redisHandle?.redis.get(counter))).to.be.at.least(3);
    expect((await send(core, BEN.phone, "m0", "hello")).ok, "another subject").to.equal(true);
  });

  it("should erase a subject's keys from every master, leaving another subject's", async () => {
    const core = await start({ RATE_LIMIT_PER_SUBJECT: "100/1m" });
    for (const c of [ADA, BEN]) {
      await seedCustomer(core, c.phone, c.minorUnits, c.name);
      for (const text of ["what is my balance?", "show my last 3 payments"])
        expect((await send(core, c.phone, `wamid.${c.name}.${text.length}`, text)).ok).to.equal(true);
    }
    const mentions = async (subjectId: string) =>
      (await readPrefix(core.redisHandle?.redis as Cluster, core.prefix as string)).filter((entry) =>
        [entry.key, ...entry.contents].join("\n").includes(subjectId),
      );
    const [ada, ben] = [subjectOf(core, ADA.phone), subjectOf(core, BEN.phone)];
    expect(await mentions(ada)).to.not.deep.equal([]);
    const benBefore = (await mentions(ben)).map((entry) => entry.key).sort();

    await ok(
      core.core.invoker,
      CustomerService.method.eraseSubject,
      { channel: Channel.WHATSAPP, channelUserId: ADA.phone },
      await token(core, "banking:admin"),
    );

    expect(await mentions(ada)).to.deep.equal([]);
    for (const [port, keys] of await masters(core))
      expect(
        keys.filter((key) => key.includes(ada)),
        `master ${port}`,
      ).to.deep.equal([]);
    expect((await mentions(ben)).map((entry) => entry.key).sort()).to.deep.equal(benBefore);
  });
});
