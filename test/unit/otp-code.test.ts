import { createHmac, randomBytes } from "node:crypto";
import { expect } from "chai";
import { hashOtpCode, newOtpCode, verifyOtpCode } from "../../lib/otp-code.js";

const KEY = Buffer.alloc(32, 7);

describe("newOtpCode", () => {
  const codes = Array.from({ length: 10_000 }, () => newOtpCode());

  it("should always give exactly six decimal digits", () => {
    for (const code of codes) expect(code).to.match(/^[0-9]{6}$/);
  });

  it("should use every digit in every position", () => {
    for (let position = 0; position < 6; position += 1) {
      const seen = new Set(codes.map((code) => code[position]));
      expect(seen.size, `position ${position}`).to.equal(10);
    }
  });

  it("should not repeat one code over and over", () => {
    // 10,000 draws from 10^6 values: about 50 collisions expected, thousands would mean a broken source.
    expect(new Set(codes).size).to.be.greaterThan(9_800);
  });
});

describe("hashOtpCode", () => {
  it("should give 64 hex characters and never contain the code", () => {
    const hash = hashOtpCode(KEY, "chl_a", "123456");
    expect(hash).to.match(/^[0-9a-f]{64}$/);
    expect(hash).to.not.include("123456");
  });

  it("should be keyed so an unkeyed hash of the code does not match", () => {
    const hash = hashOtpCode(KEY, "chl_a", "123456");
    const other = hashOtpCode(Buffer.alloc(32, 8), "chl_a", "123456");
    expect(hash).to.not.equal(other);
    expect(hash).to.not.equal(createHmac("sha256", Buffer.alloc(0)).update("123456").digest("hex"));
  });

  it("should not let challenge id and code run into each other", () => {
    expect(hashOtpCode(KEY, "chl_1", "234567")).to.not.equal(hashOtpCode(KEY, "chl_12", "345670"));
  });

  it("should refuse a short key, an empty challenge id and a malformed code", () => {
    expect(() => hashOtpCode(Buffer.alloc(31), "chl_a", "123456")).to.throw(RangeError);
    expect(() => hashOtpCode(KEY, "", "123456")).to.throw(RangeError);
    expect(() => hashOtpCode(KEY, "chl_a", "12345")).to.throw(RangeError);
  });
});

describe("verifyOtpCode", () => {
  const code = newOtpCode();
  const stored = hashOtpCode(KEY, "chl_a", code);

  it("should accept the right code for its challenge", () => {
    expect(verifyOtpCode(KEY, "chl_a", code, stored)).to.equal(true);
  });

  it("should refuse the right code submitted to another challenge", () => {
    expect(verifyOtpCode(KEY, "chl_b", code, stored)).to.equal(false);
  });

  it("should refuse a wrong code", () => {
    const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, "0");
    expect(verifyOtpCode(KEY, "chl_a", wrong, stored)).to.equal(false);
  });

  it("should refuse a code hashed under another key", () => {
    expect(verifyOtpCode(randomBytes(32), "chl_a", code, stored)).to.equal(false);
  });

  it("should refuse malformed codes without throwing", () => {
    for (const bad of ["", "12345", "1234567", "12345a", ` ${code}`, `${code}\n`, "１２３４５６"]) {
      expect(verifyOtpCode(KEY, "chl_a", bad, stored), JSON.stringify(bad)).to.equal(false);
    }
    expect(verifyOtpCode(KEY, "chl_a", undefined as unknown as string, stored)).to.equal(false);
  });

  it("should refuse malformed stored hashes and challenge ids without throwing", () => {
    for (const bad of ["", stored.slice(2), stored.toUpperCase(), `${stored}00`, "zz".repeat(32)]) {
      expect(verifyOtpCode(KEY, "chl_a", code, bad)).to.equal(false);
    }
    expect(verifyOtpCode(KEY, "", code, stored)).to.equal(false);
  });
});
