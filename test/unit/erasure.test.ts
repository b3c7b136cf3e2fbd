import { expect } from "chai";
import type { NewAuditEvent } from "../../core/domain/audit.js";
import type { SubjectData } from "../../core/domain/conversation-ports.js";
import { createErasure } from "../../core/domain/erasure.js";
import { DomainError } from "../../core/domain/errors.js";
import { createMemoryConversationLock } from "../../core/stores/memory/conversation-lock.js";
import { deriveSubjectId } from "../../lib/subject-id.js";

const SALT = "unit-salt-0123456789abcdefghijklmnopqrstuvwxyz";
const SUBJECT = deriveSubjectId(SALT, "sms", "+447700900123");

/** A part that records which subjects it erased, or fails when told to. */
function part(name: string, failure?: Error): SubjectData & { erased: string[] } {
  const erased: string[] = [];
  return {
    name,
    erased,
    async erase(subjectId) {
      if (failure) throw failure;
      erased.push(subjectId);
    },
  };
}

function setup(parts: SubjectData[]) {
  const recorded: NewAuditEvent[] = [];
  const audit = {
    async record(event: NewAuditEvent) {
      recorded.push(event);
      return {
        ...event,
        seq: BigInt(recorded.length),
        occurredAt: 0,
        attributes: event.attributes ?? {},
        hash: "",
      };
    },
  };
  const lock = createMemoryConversationLock();
  return { recorded, erasure: createErasure({ userIdSalt: SALT, parts, audit, lock }) };
}

describe("createErasure", () => {
  it("should erase every registered part under the derived subject id and audit it once", async () => {
    const sessions = part("sessions");
    const transcripts = part("transcripts");
    const { erasure, recorded } = setup([sessions, transcripts]);
    const erased = await erasure.eraseSubject("sms", "+447700900123");
    expect(erased).to.deep.equal({ subjectId: SUBJECT, parts: ["sessions", "transcripts"] });
    expect(sessions.erased).to.deep.equal([SUBJECT]);
    expect(transcripts.erased).to.deep.equal([SUBJECT]);
    expect(recorded).to.deep.equal([
      {
        type: "subject.erased",
        subjectId: SUBJECT,
        outcome: "success",
        attributes: { channel: "sms", parts: "sessions,transcripts" },
      },
    ]);
  });

  it("should try every part when one fails, audit the failure and answer UNAVAILABLE", async () => {
    const broken = new Error("redis down");
    const sessions = part("sessions");
    const messages = part("message-log", broken);
    const transcripts = part("transcripts");
    const { erasure, recorded } = setup([sessions, messages, transcripts]);
    const error = await erasure.eraseSubject("sms", "+447700900123").then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).to.be.instanceOf(DomainError);
    expect((error as DomainError).code).to.equal("UNAVAILABLE");
    expect((error as DomainError).cause).to.equal(broken);
    expect(sessions.erased).to.deep.equal([SUBJECT]);
    expect(transcripts.erased).to.deep.equal([SUBJECT]);
    expect(recorded).to.have.length(1);
    expect(recorded[0]).to.deep.include({ subjectId: SUBJECT, outcome: "failure" });
    expect(recorded[0]?.attributes).to.include({ failed: "message-log" });
  });

  it("should wait for a message of the subject that holds the conversation lock", async () => {
    const order: string[] = [];
    const lock = createMemoryConversationLock();
    const audit = {
      record: async (event: NewAuditEvent) => ({
        ...event,
        seq: 1n,
        occurredAt: 0,
        attributes: {},
        hash: "",
      }),
    };
    const parts = [{ name: "sessions", erase: async () => void order.push("erased") }];
    const erasure = createErasure({ userIdSalt: SALT, parts, audit, lock });
    let finish!: () => void;
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const handling = lock.run(SUBJECT, async () => {
      order.push("message started");
      started();
      await new Promise<void>((resolve) => (finish = resolve));
      order.push("message finished");
    });
    await running;
    const erasing = erasure.eraseSubject("sms", "+447700900123");
    finish();
    await Promise.all([handling, erasing]);
    expect(order).to.deep.equal(["message started", "message finished", "erased"]);
  });
});
