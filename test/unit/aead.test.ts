import { expect } from "chai";
import { type AeadErrorCode, decrypt, encrypt, newEncryptionKey, parseKeyring } from "../../lib/aead.js";

const OLD_KEY = Buffer.alloc(32, 1).toString("base64");
const NEW_KEY = Buffer.alloc(32, 2).toString("base64");
const AAD = "transcript:row_1";

/** Runs `action` and returns the `code` of the error it throws. */
function codeOf(action: () => unknown): AeadErrorCode | undefined {
  try {
    action();
  } catch (error) {
    return (error as { code?: AeadErrorCode }).code;
  }
  throw new Error("expected an error");
}

/** Runs `action` and returns the message of the error it throws. */
function messageOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error");
}

/** Flips one bit of byte `index` in dot-separated part `part` of a sealed value. */
function tamper(sealed: string, part: number, index: number): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[part] as string, "base64url");
  bytes[index] = (bytes[index] as number) ^ 0x01;
  parts[part] = bytes.toString("base64url");
  return parts.join(".");
}

describe("aead", () => {
  const keyring = parseKeyring(`k1:${OLD_KEY}`);

  it("should round-trip text and bytes", () => {
    expect(decrypt(keyring, encrypt(keyring, "Send 25 EUR to Alice ✓", AAD), AAD).toString()).to.equal(
      "Send 25 EUR to Alice ✓",
    );
    const bytes = Buffer.from([0, 255, 1, 254]);
    expect(decrypt(keyring, encrypt(keyring, bytes, AAD), AAD).equals(bytes)).to.equal(true);
    expect(decrypt(keyring, encrypt(keyring, "", AAD), AAD).length).to.equal(0);
  });

  it("should produce v1.<kid>.<iv>.<ciphertext>.<tag> with a 12-byte IV and a 16-byte tag", () => {
    const sealed = encrypt(keyring, "hello", AAD);
    const [version, kid, iv, ciphertext, tag] = sealed.split(".");
    expect([version, kid]).to.deep.equal(["v1", "k1"]);
    expect(Buffer.from(iv as string, "base64url").length).to.equal(12);
    expect(Buffer.from(ciphertext as string, "base64url").length).to.equal(5);
    expect(Buffer.from(tag as string, "base64url").length).to.equal(16);
    expect(sealed).to.not.include("hello");
  });

  it("should decrypt old values and encrypt with the new kid after a key is rotated in front", () => {
    const old = encrypt(keyring, "before rotation", AAD);
    const rotated = parseKeyring(`k2:${NEW_KEY},k1:${OLD_KEY}`);
    expect(decrypt(rotated, old, AAD).toString()).to.equal("before rotation");
    const fresh = encrypt(rotated, "after rotation", AAD);
    expect(fresh.split(".")[1]).to.equal("k2");
    expect(decrypt(rotated, fresh, AAD).toString()).to.equal("after rotation");
  });

  it("should refuse a value bound to another row (AAD mismatch)", () => {
    const sealed = encrypt(keyring, "secret", AAD);
    expect(codeOf(() => decrypt(keyring, sealed, "transcript:row_2"))).to.equal("AEAD_AUTH_FAILED");
  });

  it("should refuse a tag truncated to 4 bytes", () => {
    const parts = encrypt(keyring, "secret", AAD).split(".");
    parts[4] = Buffer.from(parts[4] as string, "base64url")
      .subarray(0, 4)
      .toString("base64url");
    expect(codeOf(() => decrypt(keyring, parts.join("."), AAD))).to.equal("AEAD_MALFORMED");
  });

  it("should refuse a change to any byte of the IV, ciphertext or tag", () => {
    const sealed = encrypt(keyring, "twenty bytes of text", AAD);
    for (const [part, length] of [
      [2, 12],
      [3, 20],
      [4, 16],
    ] as const) {
      for (let index = 0; index < length; index += 1) {
        expect(codeOf(() => decrypt(keyring, tamper(sealed, part, index), AAD))).to.equal("AEAD_AUTH_FAILED");
      }
    }
  });

  it("should refuse a value whose kid was swapped for another known key", () => {
    const both = parseKeyring(`k2:${NEW_KEY},k1:${OLD_KEY}`);
    const swapped = encrypt(both, "secret", AAD).replace(".k2.", ".k1.");
    expect(codeOf(() => decrypt(both, swapped, AAD))).to.equal("AEAD_AUTH_FAILED");
  });

  it("should use a fresh IV for each of 100,000 encryptions", () => {
    const ivs = new Set<string>();
    for (let i = 0; i < 100_000; i += 1) ivs.add(encrypt(keyring, "x", AAD).split(".")[2] as string);
    expect(ivs.size).to.equal(100_000);
  });

  it("should refuse a value sealed under a key id the keyring does not hold", () => {
    const other = parseKeyring(`k9:${NEW_KEY}`);
    expect(codeOf(() => decrypt(keyring, encrypt(other, "secret", AAD), AAD))).to.equal("AEAD_UNKNOWN_KEY");
  });

  it("should refuse malformed sealed values", () => {
    const sealed = encrypt(keyring, "secret", AAD);
    const [, , iv, ciphertext, tag] = sealed.split(".");
    const shortIv = Buffer.alloc(8).toString("base64url");
    const bad = [
      "",
      "garbage",
      sealed.replace(/^v1\./, "v2."),
      `${sealed}.extra`,
      `v1.k!.${iv}.${ciphertext}.${tag}`,
      `v1.k1.${shortIv}.${ciphertext}.${tag}`,
      `v1.k1.${iv}.${ciphertext}+.${tag}`,
      `v1.k1.${iv}.${ciphertext}.${tag}=`,
    ];
    for (const value of bad)
      expect(
        codeOf(() => decrypt(keyring, value, AAD)),
        value,
      ).to.equal("AEAD_MALFORMED");
  });
});

describe("parseKeyring", () => {
  it("should make the first key the encrypting one and keep every key for decryption", () => {
    const ring = parseKeyring(` k2:${NEW_KEY} , k1:${OLD_KEY}`);
    expect(ring.primaryKid).to.equal("k2");
    expect([...ring.keys.keys()]).to.deep.equal(["k2", "k1"]);
  });

  it("should accept base64url keys", () => {
    const key = Buffer.alloc(32, 0xfb).toString("base64url");
    expect(parseKeyring(`kid_-1:${key}`).keys.get("kid_-1")?.length).to.equal(32);
  });

  it("should refuse keys that are not exactly 32 bytes", () => {
    const short = Buffer.alloc(16).toString("base64");
    const long = Buffer.alloc(33).toString("base64");
    for (const text of [`k1:${short}`, `k1:${long}`, "k1:not base64!", "k1:"]) {
      expect(
        codeOf(() => parseKeyring(text)),
        text,
      ).to.equal("AEAD_KEYRING_INVALID");
    }
  });

  it("should refuse duplicate ids, bad ids and empty or broken lists", () => {
    const bad = [
      "",
      `k1:${OLD_KEY},k1:${NEW_KEY}`,
      `k.1:${OLD_KEY}`,
      `:${OLD_KEY}`,
      `${"k".repeat(33)}:${OLD_KEY}`,
      `k1:${OLD_KEY},,k2:${NEW_KEY}`,
      OLD_KEY,
    ];
    for (const text of bad)
      expect(
        codeOf(() => parseKeyring(text)),
        text,
      ).to.equal("AEAD_KEYRING_INVALID");
  });

  it("should never put key material in its error message", () => {
    for (const text of [`k1:${OLD_KEY},k1:${NEW_KEY}`, `k1:${OLD_KEY.slice(4)}`]) {
      const message = messageOf(() => parseKeyring(text));
      expect(message).to.not.include(OLD_KEY.slice(4)).and.not.include(NEW_KEY);
    }
  });
});

describe("newEncryptionKey", () => {
  it("should create distinct keys that a keyring accepts", () => {
    const a = newEncryptionKey();
    const b = newEncryptionKey();
    expect(a).to.not.equal(b);
    const ring = parseKeyring(`a:${a},b:${b}`);
    expect(decrypt(ring, encrypt(ring, "ok", AAD), AAD).toString()).to.equal("ok");
  });
});
