import { expect } from "chai";
import {
  base32Decode,
  base32Encode,
  hotp,
  newTotpSecret,
  type OtpAlgorithm,
  otpauthUri,
  totp,
  totpStep,
  verifyTotp,
} from "../../lib/totp.js";

// RFC 6238 Appendix B seeds (security.md §5 OTP-5): the reference code's per-hash seeds.
const SEEDS: Record<OtpAlgorithm, Buffer> = {
  sha1: Buffer.from("12345678901234567890", "ascii"),
  sha256: Buffer.from("12345678901234567890123456789012", "ascii"),
  sha512: Buffer.from("1234567890123456789012345678901234567890123456789012345678901234", "ascii"),
};

// RFC 6238 Appendix B: [time in seconds, SHA1, SHA256, SHA512], 8 digits, X = 30, T0 = 0.
const RFC6238_VECTORS: ReadonlyArray<readonly [number, string, string, string]> = [
  [59, "94287082", "46119246", "90693936"],
  [1111111109, "07081804", "68084774", "25091201"],
  [1111111111, "14050471", "67062674", "99943326"],
  [1234567890, "89005924", "91819424", "93441116"],
  [2000000000, "69279037", "90698825", "38618901"],
  [20000000000, "65353130", "77737706", "47863826"],
];

// RFC 4226 Appendix D, counters 0–9, 6 digits, the 20-byte seed.
const RFC4226_VALUES = [
  "755224",
  "287082",
  "359152",
  "969429",
  "338314",
  "254676",
  "287922",
  "162583",
  "399871",
  "520489",
];

const SECRET = SEEDS.sha1;
const STEP_MS = 30_000;
const NOW = 1_700_000_000_000;

describe("totp", () => {
  for (const [seconds, sha1, sha256, sha512] of RFC6238_VECTORS) {
    const expected: Record<OtpAlgorithm, string> = { sha1, sha256, sha512 };
    for (const algorithm of ["sha1", "sha256", "sha512"] as const) {
      it(`should match RFC 6238 Appendix B at T=${seconds} s with ${algorithm}`, () => {
        const code = totp(SEEDS[algorithm], seconds * 1000, { digits: 8, algorithm });
        expect(code).to.equal(expected[algorithm]);
      });
    }
  }

  it("should give the 6-digit SHA1 equivalents of the Appendix B values", () => {
    const codes = RFC6238_VECTORS.map(([seconds]) => totp(SECRET, seconds * 1000));
    expect(codes).to.deep.equal(["287082", "081804", "050471", "005924", "279037", "353130"]);
  });

  it("should compute time steps beyond 32 bits exactly (RFC 6238 §4.2)", () => {
    expect(totpStep(20_000_000_000 * 1000)).to.equal(0x27bc86aan);
    expect(totpStep(59_999)).to.equal(1n);
  });

  it("should refuse a time before the epoch and a non-positive step", () => {
    expect(() => totp(SECRET, -1)).to.throw(RangeError);
    expect(() => totp(SECRET, NOW, { stepSeconds: 0 })).to.throw(RangeError);
  });
});

describe("hotp", () => {
  it("should match the RFC 4226 values for counters 0 to 9", () => {
    const codes = RFC4226_VALUES.map((_, counter) => hotp(SECRET, BigInt(counter)));
    expect(codes).to.deep.equal(RFC4226_VALUES);
  });

  it("should accept the full 64-bit counter range and refuse values outside it", () => {
    expect(hotp(SECRET, (1n << 64n) - 1n)).to.match(/^[0-9]{6}$/);
    expect(() => hotp(SECRET, 1n << 64n)).to.throw(RangeError);
    expect(() => hotp(SECRET, -1n)).to.throw(RangeError);
  });

  it("should refuse a secret shorter than 128 bits (RFC 4226 R6)", () => {
    expect(() => hotp(Buffer.alloc(15, 1), 0n)).to.throw(RangeError);
    expect(hotp(Buffer.alloc(16, 1), 0n)).to.match(/^[0-9]{6}$/);
  });

  it("should refuse fewer than 6 or more than 8 digits", () => {
    expect(() => hotp(SECRET, 0n, 5)).to.throw(RangeError);
    expect(() => hotp(SECRET, 0n, 9)).to.throw(RangeError);
  });
});

describe("verifyTotp", () => {
  const codeAt = (stepOffset: number) => totp(SECRET, NOW + stepOffset * STEP_MS);
  const current = totpStep(NOW);

  it("should accept the code of the current step and return that step", () => {
    expect(verifyTotp(SECRET, codeAt(0), NOW)).to.deep.equal({ ok: true, step: current });
  });

  it("should accept the code of the previous step for network delay (T-1)", () => {
    expect(verifyTotp(SECRET, codeAt(-1), NOW)).to.deep.equal({ ok: true, step: current - 1n });
  });

  it("should accept the code of the next step for a clock running ahead (T+1)", () => {
    expect(verifyTotp(SECRET, codeAt(1), NOW)).to.deep.equal({ ok: true, step: current + 1n });
  });

  it("should refuse the codes two steps back and two steps ahead", () => {
    expect(verifyTotp(SECRET, codeAt(-2), NOW)).to.deep.equal({ ok: false });
    expect(verifyTotp(SECRET, codeAt(2), NOW)).to.deep.equal({ ok: false });
  });

  it("should accept only the current step when the window is 0", () => {
    expect(verifyTotp(SECRET, codeAt(-1), NOW, { window: 0 })).to.deep.equal({ ok: false });
    expect(verifyTotp(SECRET, codeAt(1), NOW, { window: 0 })).to.deep.equal({ ok: false });
    expect(verifyTotp(SECRET, codeAt(0), NOW, { window: 0 }).ok).to.equal(true);
  });

  it("should refuse a window wider than one step (RFC 6238 §5.2)", () => {
    expect(() => verifyTotp(SECRET, codeAt(0), NOW, { window: 2 })).to.throw(RangeError);
  });

  it("should refuse a code a second time once its step is recorded as used, saying it was reused", () => {
    const first = verifyTotp(SECRET, codeAt(0), NOW);
    if (!first.ok) throw new Error("the first use should verify");
    expect(verifyTotp(SECRET, codeAt(0), NOW + 1000, { lastUsedStep: first.step })).to.deep.equal({
      ok: false,
      reused: true,
    });
  });

  it("should refuse an older step after a newer one was used", () => {
    expect(verifyTotp(SECRET, codeAt(-1), NOW, { lastUsedStep: current })).to.deep.equal({
      ok: false,
      reused: true,
    });
    expect(verifyTotp(SECRET, codeAt(0), NOW, { lastUsedStep: current + 1n })).to.deep.equal({
      ok: false,
      reused: true,
    });
  });

  it("should accept the next step after the previous one was used", () => {
    const result = verifyTotp(SECRET, codeAt(0), NOW, { lastUsedStep: current - 1n });
    expect(result).to.deep.equal({ ok: true, step: current });
  });

  it("should not call a wrong code reused", () => {
    const wrong = String((Number(codeAt(0)) + 1) % 1_000_000).padStart(6, "0");
    expect(verifyTotp(SECRET, wrong, NOW, { lastUsedStep: current })).to.deep.equal({ ok: false });
  });

  it("should refuse a wrong code", () => {
    const wrong = String((Number(codeAt(0)) + 1) % 1_000_000).padStart(6, "0");
    expect(verifyTotp(SECRET, wrong, NOW)).to.deep.equal({ ok: false });
  });

  it("should refuse malformed codes without throwing", () => {
    for (const code of ["", "12345", "1234567", "12a456", " 123456", "１２３４５６"]) {
      expect(verifyTotp(SECRET, code, NOW)).to.deep.equal({ ok: false });
    }
  });

  it("should verify the RFC 6238 vector far past 2038 with 8 digits and SHA-512", () => {
    const result = verifyTotp(SEEDS.sha512, "47863826", 20_000_000_000 * 1000, {
      digits: 8,
      algorithm: "sha512",
    });
    expect(result).to.deep.equal({ ok: true, step: 0x27bc86aan });
  });
});

describe("base32", () => {
  // RFC 4648 §10 test vectors, without padding.
  const vectors: ReadonlyArray<readonly [string, string]> = [
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ];

  for (const [plain, encoded] of vectors) {
    it(`should encode "${plain}" as "${encoded}" and back (RFC 4648 §10)`, () => {
      expect(base32Encode(Buffer.from(plain))).to.equal(encoded);
      expect(base32Decode(encoded).toString()).to.equal(plain);
    });
  }

  it("should encode the RFC 6238 SHA1 seed as security.md gives it", () => {
    expect(base32Encode(SECRET)).to.equal("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  });

  it("should round-trip random secrets", () => {
    for (let i = 0; i < 200; i += 1) {
      const secret = newTotpSecret();
      expect(base32Decode(base32Encode(secret)).equals(secret)).to.equal(true);
    }
  });

  it("should accept lower case and trailing padding", () => {
    expect(base32Decode("mzxw6ytboi======").toString()).to.equal("foobar");
  });

  it("should refuse foreign characters, impossible lengths and non-zero leftover bits", () => {
    expect(() => base32Decode("MZXW1")).to.throw(RangeError);
    expect(() => base32Decode("MZX")).to.throw(RangeError);
    expect(() => base32Decode("MZ")).to.throw(RangeError);
    expect(() => base32Decode("MZ XW")).to.throw(RangeError);
  });
});

describe("newTotpSecret", () => {
  it("should create 160-bit secrets that differ", () => {
    const a = newTotpSecret();
    expect(a.length).to.equal(20);
    expect(a.equals(newTotpSecret())).to.equal(false);
  });
});

describe("otpauthUri", () => {
  it("should build the Key URI with every parameter", () => {
    const uri = otpauthUri({ secret: SECRET, issuer: "Teller", account: "cus_123" });
    expect(uri).to.equal(
      "otpauth://totp/Teller:cus_123?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" +
        "&issuer=Teller&algorithm=SHA1&digits=6&period=30",
    );
  });

  it("should percent-encode the label and issuer, spaces as %20", () => {
    const uri = otpauthUri({
      secret: SEEDS.sha256,
      issuer: "Teller Bank & Co",
      account: "ana@example.com",
      digits: 8,
      period: 60,
      algorithm: "sha256",
    });
    const url = new URL(uri);
    expect(url.protocol).to.equal("otpauth:");
    expect(uri).to.match(/^otpauth:\/\/totp\/Teller%20Bank%20%26%20Co:ana%40example\.com\?/);
    expect(url.searchParams.get("issuer")).to.equal("Teller Bank & Co");
    expect(url.searchParams.get("algorithm")).to.equal("SHA256");
    expect(url.searchParams.get("digits")).to.equal("8");
    expect(url.searchParams.get("period")).to.equal("60");
    expect(base32Decode(url.searchParams.get("secret") ?? "").equals(SEEDS.sha256)).to.equal(true);
  });

  it("should refuse an issuer containing a colon", () => {
    expect(() => otpauthUri({ secret: SECRET, issuer: "Tel:ler", account: "a" })).to.throw(RangeError);
  });
});
