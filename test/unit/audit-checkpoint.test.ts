import { expect } from "chai";
import { CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import { readAuditConfig } from "../../core/audit-config.js";
import { auditHash, GENESIS_HASH, type StoredAuditEntry } from "../../core/domain/audit.js";
import {
  type AuditChainReader,
  type CheckpointLine,
  type CheckpointLog,
  type CheckpointRecord,
  createCheckpointer,
  signatureOf,
  verifyCheckpoints,
} from "../../core/domain/audit-checkpoint.js";
import type { AuditEntryReader } from "../../core/domain/audit-verify-incremental.js";
import {
  AUDIT_CHECKPOINT_TYP,
  type CheckpointClaims,
  checkpointPublicJwk,
  createCheckpointOpener,
  createCheckpointSigner,
} from "../../lib/audit-checkpoint.js";
import { createManualClock } from "../../lib/clock.js";
import { deriveDevAuditCheckpointKey, deriveDevStepUpKeys } from "../../lib/dev-secrets.js";
import { createTestKeys } from "../support/core.js";

/** A real chain of 40 entries (auditHash), so the checkpointer's verification passes over it. */
const CHAIN: readonly StoredAuditEntry[] = (() => {
  const entries: StoredAuditEntry[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1n; seq <= 40n; seq += 1n) {
    const body = {
      seq,
      type: "test.event",
      outcome: "success" as const,
      occurredAt: 1_000 * Number(seq),
      attributes: {},
    };
    entries.push({ ...body, prevHash, hash: auditHash(prevHash, body) });
    prevHash = entries[entries.length - 1]?.hash as string;
  }
  return entries;
})();

/** The hash of CHAIN's entry `seq`; past its end any well-formed hash (only the JWS tests go there). */
const hashOf = (seq: number | bigint) => CHAIN[Number(seq) - 1]?.hash ?? seq.toString(16).padStart(64, "0");
const claims = (seq: number | bigint, prev = ""): CheckpointClaims => ({
  seq: BigInt(seq),
  hash: hashOf(seq),
  at: 1_767_225_600_000,
  prev,
});

/** The first `length` entries of CHAIN, with the stored hash of some rewritten. */
function chainOf(
  length: number,
  rewritten: Record<number, string> = {},
): AuditChainReader & AuditEntryReader {
  const entries = CHAIN.slice(0, length).map((e) => ({ ...e, hash: rewritten[Number(e.seq)] ?? e.hash }));
  const hashAt = (seq: bigint) => entries[Number(seq) - 1]?.hash as string;
  return {
    head: async () => (length === 0 ? undefined : { seq: BigInt(length), hash: hashAt(BigInt(length)) }),
    hashesAt: async (seqs) => new Map(seqs.filter((s) => s <= BigInt(length)).map((s) => [s, hashAt(s)])),
    entriesAfter: async (after, limit) => entries.filter((e) => e.seq > after).slice(0, limit),
  };
}

/** A CheckpointLog in memory, whose records a test can edit. */
function memoryLog(): CheckpointLog & { records: CheckpointRecord[]; lines(): CheckpointLine[] } {
  const records: CheckpointRecord[] = [];
  const lines = () => records.map((record, i) => ({ line: i + 1, record }));
  return {
    records,
    lines,
    last: async () => records.at(-1),
    append: async (record) => void records.push(record),
    readAll: async () => lines(),
  };
}

async function es256Keys(): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  return {
    privateJwk: { ...(await exportJWK(privateKey)), alg: "ES256", kid: "es" },
    publicJwk: { ...(await exportJWK(publicKey)), alg: "ES256", kid: "es" },
  };
}

describe("audit checkpoint JWS", () => {
  it("should open what it signed, for EdDSA and ES256 keys, typed as a checkpoint", async () => {
    for (const keys of [await createTestKeys("audit"), await es256Keys()]) {
      const jws = await createCheckpointSigner(keys.privateJwk)(claims(9_007_199_254_740_993n, "c2ln"));
      const header = JSON.parse(Buffer.from(jws.split(".")[0] as string, "base64url").toString());
      expect(header).to.include({ typ: AUDIT_CHECKPOINT_TYP, alg: keys.privateJwk.alg });
      // seq past 2^53 survives exactly: it travels as a decimal string.
      expect(await createCheckpointOpener(keys.publicJwk)(jws)).to.deep.equal(
        claims(9_007_199_254_740_993n, "c2ln"),
      );
      expect(checkpointPublicJwk(keys.privateJwk)).to.include({
        x: keys.publicJwk.x,
        alg: keys.privateJwk.alg,
      });
    }
  });

  it("should refuse a checkpoint forged or re-signed with another key", async () => {
    const ours = await createTestKeys("ours");
    const theirs = await createTestKeys("ours");
    const open = createCheckpointOpener(ours.publicJwk);
    const forged = await createCheckpointSigner(theirs.privateJwk)(claims(20));
    expect(await open(forged)).to.equal(undefined);
    const genuine = await createCheckpointSigner(ours.privateJwk)(claims(12));
    const [header, , signature] = genuine.split(".");
    const payload = forged.split(".")[1];
    expect(await open(`${header}.${payload}.${signature}`), "edited payload").to.equal(undefined);
  });

  it("should refuse another JWS type, an unsigned one and a payload of another shape from the same key", async () => {
    const keys = await createTestKeys("audit");
    const open = createCheckpointOpener(keys.publicJwk);
    const key = await importJWK(keys.privateJwk, "EdDSA");
    const sign = (typ: string, payload: object) =>
      new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: "EdDSA", typ })
        .sign(key);
    const shape = { at: 1, hash: hashOf(3), prev: "", seq: "3" };
    expect(await open(await sign(AUDIT_CHECKPOINT_TYP, shape)), "control").to.deep.equal({
      seq: 3n,
      hash: hashOf(3),
      at: 1,
      prev: "",
    });
    expect(await open(await sign("teller-stepup+jwt", shape)), "typ").to.equal(undefined);
    expect(await open(await sign(AUDIT_CHECKPOINT_TYP, { ...shape, extra: 1 })), "extra").to.equal(undefined);
    expect(await open(await sign(AUDIT_CHECKPOINT_TYP, { ...shape, seq: 3 })), "seq number").to.equal(
      undefined,
    );
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: AUDIT_CHECKPOINT_TYP })).toString(
      "base64url",
    );
    const body = Buffer.from(JSON.stringify(shape)).toString("base64url");
    expect(await open(`${none}.${body}.`), "alg none").to.equal(undefined);
    expect(await open("not a jws"), "garbage").to.equal(undefined);
  });
});

describe("createCheckpointer", () => {
  let keys: Awaited<ReturnType<typeof createTestKeys>>;
  beforeEach(async () => {
    keys = await createTestKeys("audit");
  });

  const checkpointerOver = (chain: AuditEntryReader, log: CheckpointLog, clock = createManualClock()) =>
    createCheckpointer({
      chain,
      log,
      sign: createCheckpointSigner(keys.privateJwk),
      open: createCheckpointOpener(keys.publicJwk),
      clock,
      batchSize: 4,
    });

  it("should checkpoint the verified head only when the chain grew, chaining prev to the last signature", async () => {
    const clock = createManualClock();
    const log = memoryLog();
    let length = 0;
    const checkpointer = checkpointerOver(
      { entriesAfter: (a, l) => chainOf(length).entriesAfter(a, l) },
      log,
      clock,
    );
    expect((await checkpointer.checkpoint()).written, "empty chain").to.equal(undefined);
    length = 3;
    const first = await checkpointer.checkpoint();
    expect(first.written).to.deep.equal({ seq: 3n, hash: hashOf(3), at: clock.now(), prev: "" });
    expect(first.verification).to.include({ ok: true, checked: 3n });
    clock.advance(3_600_000);
    expect((await checkpointer.checkpoint()).written, "unchanged").to.equal(undefined);
    length = 9;
    const second = await checkpointer.checkpoint();
    expect(second.verification).to.deep.include({
      ok: true,
      from: { seq: 3n, hash: hashOf(3) },
      checked: 6n,
    });
    expect(second.written?.prev)
      .to.equal(signatureOf(log.records[0]?.jws ?? ""))
      .and.not.equal("");
    expect(log.records.map((r) => [r.seq, r.at])).to.deep.equal([
      [3n, clock.now() - 3_600_000],
      [9n, clock.now()],
    ]);
  });

  it("should sign nothing while an entry after the last verified one does not recompute, and resume once it does", async () => {
    const log = memoryLog();
    let chain = chainOf(10, { 7: "f".repeat(64) });
    const checkpointer = checkpointerOver({ entriesAfter: (a, l) => chain.entriesAfter(a, l) }, log);
    for (let run = 0; run < 2; run += 1) {
      const { verification, written } = await checkpointer.checkpoint();
      expect(verification).to.deep.include({ ok: false, firstBrokenSeq: 7n });
      expect(written).to.equal(undefined);
    }
    expect(log.records).to.deep.equal([]);
    chain = chainOf(10);
    expect((await checkpointer.checkpoint()).written).to.include({ seq: 10n, hash: hashOf(10) });
  });

  it("should resume from the log's last checkpoint when it verifies under the key, and from genesis otherwise", async () => {
    const log = memoryLog();
    await checkpointerOver(chainOf(6), log).checkpoint();
    // Entries up to the checkpoint are not read again: a forged hash there goes unseen here
    // (the full walk, `teller audit verify`, sees it), while the checkpointed entry is re-read.
    const resumed = await checkpointerOver(chainOf(8, { 2: "f".repeat(64) }), log).checkpoint();
    expect(resumed.verification).to.deep.include({
      ok: true,
      from: { seq: 6n, hash: hashOf(6) },
      checked: 2n,
    });
    const cut = await checkpointerOver(chainOf(7), log).checkpoint();
    expect(cut.verification, "the checkpointed entry 8 is gone").to.deep.include({
      ok: false,
      firstBrokenSeq: 8n,
    });
    log.records.push({ ...(log.records.at(-1) as CheckpointRecord), seq: 9n });
    const distrusted = await checkpointerOver(chainOf(8, { 2: "f".repeat(64) }), log).checkpoint();
    expect(distrusted.verification, "edited record: from genesis").to.deep.include({
      ok: false,
      firstBrokenSeq: 2n,
    });
  });
});

describe("verifyCheckpoints", () => {
  let keys: Awaited<ReturnType<typeof createTestKeys>>;
  let log: ReturnType<typeof memoryLog>;

  /** Writes checkpoints at each seq through the real checkpointer. */
  async function checkpointAt(...seqs: number[]): Promise<void> {
    for (const seq of seqs) {
      const checkpointer = createCheckpointer({
        chain: chainOf(seq),
        log,
        sign: createCheckpointSigner(keys.privateJwk),
        open: createCheckpointOpener(keys.publicJwk),
        clock: createManualClock(),
      });
      await checkpointer.checkpoint();
    }
  }

  const verify = async (chain: AuditChainReader, lines?: readonly CheckpointLine[]) =>
    verifyCheckpoints({
      lines: lines ?? log.lines(),
      open: createCheckpointOpener(keys.publicJwk),
      chain,
    });

  beforeEach(async () => {
    keys = await createTestKeys("audit");
    log = memoryLog();
  });

  it("should accept checkpoints the chain still contains", async () => {
    await checkpointAt(3, 8, 12);
    expect(await verify(chainOf(12))).to.deep.equal({ checked: 3, forks: 0 });
    expect(await verify(chainOf(30)), "the chain grew since").to.deep.equal({ checked: 3, forks: 0 });
  });

  it("should report removed newest entries, naming the last seq vouched for and where the chain ends", async () => {
    await checkpointAt(3, 8, 12);
    expect((await verify(chainOf(10))).problem).to.deep.equal({ kind: "truncated", seq: 12n, lastSeq: 10n });
    expect((await verify(chainOf(0))).problem).to.deep.equal({ kind: "truncated", seq: 12n, lastSeq: 0n });
  });

  it("should report the first checkpointed entry whose hash was rewritten", async () => {
    await checkpointAt(3, 8, 12);
    const rewritten = chainOf(20, { 8: "f".repeat(64), 12: "e".repeat(64) });
    expect((await verify(rewritten)).problem).to.deep.equal({ kind: "mismatch", seq: 8n });
  });

  it("should find a broken prev link when a checkpoint was removed from the middle", async () => {
    await checkpointAt(3, 8, 12);
    log.records.splice(1, 1);
    expect(await verify(chainOf(12))).to.deep.equal({
      checked: 1,
      forks: 0,
      problem: { kind: "broken-link", line: 2 },
    });
  });

  it("should refuse a checkpoint signed with another key, or whose readable fields were edited", async () => {
    await checkpointAt(3);
    const other = await createTestKeys("audit");
    const forged = await createCheckpointSigner(other.privateJwk)(
      claims(30, signatureOf(log.records[0]?.jws ?? "")),
    );
    log.records.push({ seq: 30n, hash: hashOf(30), at: 0, jws: forged });
    expect((await verify(chainOf(12))).problem).to.deep.equal({ kind: "bad-signature", line: 2 });
    log.records.pop();
    log.records[0] = { ...(log.records[0] as CheckpointRecord), seq: 2n };
    expect((await verify(chainOf(12))).problem).to.deep.equal({ kind: "bad-signature", line: 1 });
  });

  it("should accept two instances starting an empty file at once, but no new start once linked", async () => {
    const sign = createCheckpointSigner(keys.privateJwk);
    for (const seq of [3, 3]) {
      log.records.push({ seq: BigInt(seq), hash: hashOf(seq), at: 0, jws: await sign(claims(seq)) });
    }
    await checkpointAt(5);
    expect(await verify(chainOf(5))).to.deep.equal({ checked: 3, forks: 1 });
    log.records.push({ seq: 6n, hash: hashOf(6), at: 0, jws: await sign(claims(6)) });
    expect((await verify(chainOf(6))).problem).to.deep.equal({ kind: "broken-link", line: 4 });
  });

  it("should accept a fork from two instances chaining from one checkpoint, but not a second first one", async () => {
    await checkpointAt(3);
    const prev = signatureOf(log.records[0]?.jws ?? "");
    const sign = createCheckpointSigner(keys.privateJwk);
    for (const seq of [5, 6])
      log.records.push({ seq: BigInt(seq), hash: hashOf(seq), at: 0, jws: await sign(claims(seq, prev)) });
    expect(await verify(chainOf(6))).to.deep.equal({ checked: 3, forks: 1 });
    log.records.push({ seq: 6n, hash: hashOf(6), at: 0, jws: await sign(claims(6, "")) });
    expect((await verify(chainOf(6))).problem).to.deep.equal({ kind: "broken-link", line: 4 });
  });

  it("should report a line that is not a checkpoint", async () => {
    await checkpointAt(3);
    const lines = [...log.lines(), { line: 2 }];
    expect((await verify(chainOf(3), lines)).problem).to.deep.equal({ kind: "malformed", line: 2 });
  });
});

describe("readAuditConfig", () => {
  const SALT = "f3b9c1d27e8a4605b1c9d2e7f0a3b4c5d6e7f8091a2b3c4d";

  it("should require AUDIT_CHECKPOINT_JWK in production", () => {
    const problems: string[] = [];
    readAuditConfig({}, true, SALT, "./data", problems);
    expect(problems).to.have.length(1);
    expect(problems[0]).to.match(/^AUDIT_CHECKPOINT_JWK is required in production/);
  });

  it("should derive a stable development key from the salt, and apply the documented defaults", () => {
    const problems: string[] = [];
    const a = readAuditConfig({}, false, SALT, "/var/teller", problems);
    const b = readAuditConfig({}, false, SALT, "/elsewhere", problems);
    expect(problems).to.deep.equal([]);
    expect(a.checkpointPrivateJwk).to.deep.equal(b.checkpointPrivateJwk);
    expect(a.checkpointPrivateJwk).to.include({ alg: "EdDSA", crv: "Ed25519" });
    expect(a.checkpointPublicJwk).to.not.have.property("d");
    expect(a.checkpointPrivateJwk).to.deep.equal(deriveDevAuditCheckpointKey({ userIdSalt: SALT }));
    expect(a.checkpointPrivateJwk.d).to.not.equal(deriveDevStepUpKeys({ userIdSalt: SALT }).privateJwk.d);
    expect(deriveDevAuditCheckpointKey({ userIdSalt: `${SALT}x` }).d).to.not.equal(a.checkpointPrivateJwk.d);
    expect(a).to.include({ checkpointDir: "/var/teller/audit-checkpoints", checkpointIntervalMs: 3_600_000 });
  });

  it("should read the key, directory and interval, and refuse bad ones without echoing the key", async () => {
    const { privateJwk, publicJwk } = await createTestKeys("audit-prod");
    const problems: string[] = [];
    const config = readAuditConfig(
      {
        AUDIT_CHECKPOINT_JWK: JSON.stringify(privateJwk),
        AUDIT_CHECKPOINT_DIR: "/worm/spool",
        AUDIT_CHECKPOINT_INTERVAL: "15m",
      },
      true,
      SALT,
      "./data",
      problems,
    );
    expect(problems).to.deep.equal([]);
    expect(config).to.include({ checkpointDir: "/worm/spool", checkpointIntervalMs: 900_000 });
    expect(config.checkpointPublicJwk).to.include({ x: publicJwk.x, kid: "audit-prod" });
    for (const interval of ["0s", "2d", "soon"]) {
      const found: string[] = [];
      readAuditConfig({ AUDIT_CHECKPOINT_INTERVAL: interval }, false, SALT, "./data", found);
      expect(found, interval).to.have.length(1);
      expect(found[0]).to.match(/^AUDIT_CHECKPOINT_INTERVAL/);
    }
    const found: string[] = [];
    readAuditConfig({ AUDIT_CHECKPOINT_JWK: JSON.stringify(publicJwk) }, true, SALT, "./data", found);
    expect(found).to.deep.equal([
      "AUDIT_CHECKPOINT_JWK must be a private JWK (with d) whose alg is EdDSA or ES256",
    ]);
  });
});
