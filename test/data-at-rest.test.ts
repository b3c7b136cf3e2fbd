import { expect } from "chai";
import { ACTIONS } from "../core/domain/dialog/intent.js";
import type { ManualClock } from "../lib/clock.js";
import { deriveSubjectId } from "../lib/subject-id.js";
import { chatAs, textOf } from "./support/chat-driver.js";
import { startTestCore, type TestCore } from "./support/core.js";
import { type FakeTwilio, startFakeTwilio } from "./support/fake-twilio.js";
import { readPrefix } from "./support/redis-contents.js";
import { seedCustomer } from "./support/seed.js";
import { appCode, createStepClock, enrolTotp } from "./support/totp.js";

const ALICE = "+447700900911";
const BOB = "+447700900922";
const SID = `AC${"ab".repeat(16)}`;
const TOKEN = "twilio-test-token";

/** Every row of every table in the test's schema, as PostgreSQL prints it: what pg_dump would hold. */
async function dumpSchema(t: TestCore): Promise<string> {
  const client = t.schemaHandle?.client;
  if (!client) throw new Error("this test needs the PostgreSQL backend");
  const { rows } = await client.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
  );
  const parts: string[] = [];
  for (const { table_name } of rows) {
    const dump = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${table_name}" t`);
    parts.push(...dump.rows.map((r) => `${table_name}: ${r.row}`));
  }
  return parts.join("\n");
}

describe("Data at rest: no message text or TOTP secret in a PostgreSQL or Redis dump", () => {
  let t: TestCore;
  let twilio: FakeTwilio;
  let clock: ManualClock;
  beforeEach(async () => {
    twilio = await startFakeTwilio(SID, TOKEN);
    clock = createStepClock();
    t = await startTestCore({
      clock,
      env: {
        RATE_LIMIT_PER_SUBJECT: "100/1m",
        TWILIO_ACCOUNT_SID: SID,
        TWILIO_AUTH_TOKEN: TOKEN,
        TWILIO_SMS_FROM: "+15005550006",
        TWILIO_API_BASE_URL: twilio.baseUrl,
      },
    });
  });
  afterEach(async () => {
    await t.close();
    await twilio.close();
  });

  it("should keep transcripts, replies and pending payments sealed, and the TOTP secret encrypted", async () => {
    const alice = await seedCustomer(t, ALICE, 50_000n, "Alice");
    const bob = await seedCustomer(t, BOB, 0n, "Bob");
    const enrolment = await enrolTotp(t, alice.customerId);
    const chat = await chatAs(t, ALICE);
    const secretText = "my private note is marmalade-sky-42";
    await chat.say(secretText);
    await chat.say(`add payee Bobby Quillfeather ${bob.accountId}`);
    expect(textOf(await chat.tap(ACTIONS.confirm))).to.include("authenticator app");
    expect(textOf(await chat.say(appCode(enrolment.secret, clock)))).to.include("Saved Bobby Quillfeather");
    await chat.say("please send 12.34 EUR to bobby quillfeather");
    await chat.tap(ACTIONS.confirm);
    // The next step's code: each time step is accepted once.
    clock.advance(30_000);
    const done = textOf(await chat.say(appCode(enrolment.secret, clock)));
    expect(done).to.include("Done: you sent 12.34 EUR to Bobby Quillfeather");
    // A pending operation left open is sealed too.
    await chat.say("send 1 EUR to bobby");
    expect(twilio.messages).to.have.length(0);

    const redis = JSON.stringify(await readPrefix(t.redisHandle?.redis as never, t.prefix as string));
    const database = await dumpSchema(t);
    for (const [where, dump] of [
      ["Redis", redis],
      ["PostgreSQL", database],
    ] as const) {
      for (const plain of [
        "marmalade-sky-42",
        "please send 12.34",
        "Done: you sent",
        "Quillfeather (account",
      ]) {
        expect(dump, `${where} holds "${plain}"`).not.to.include(plain);
      }
      for (const secret of [
        enrolment.base32,
        enrolment.secret.toString("hex"),
        enrolment.secret.toString("base64"),
      ]) {
        expect(dump, `${where} holds the TOTP secret`).not.to.include(secret);
      }
    }
    expect(redis, "Redis holds the payee's name").not.to.include("Quillfeather");
    // Sealed is not lost: the core reads its own transcript back.
    const subjectId = deriveSubjectId(t.config.userIdSalt, "whatsapp", ALICE);
    const transcript = await t.core.transcripts.list(subjectId);
    expect(transcript.map((e) => e.text)).to.include(secretText);
    expect(transcript.map((e) => e.text)).to.include("[one-time code]");
  });
});
