import { expect } from "chai";
import { pooledRandomBytes } from "../../lib/random-pool.js";

describe("pooledRandomBytes", () => {
  it("should return exactly the number of bytes asked for", () => {
    for (const size of [0, 1, 12, 16, 4096, 5000]) expect(pooledRandomBytes(size)).to.have.length(size);
  });

  it("should never hand out the same bytes twice, across pool refills", () => {
    const seen = new Set<string>();
    // 2,000 × 16 bytes spans several 4 KiB pools; a repeated 128-bit value would mean reused bytes.
    for (let i = 0; i < 2_000; i += 1) seen.add(pooledRandomBytes(16).toString("hex"));
    expect(seen.size).to.equal(2_000);
  });

  it("should leave bytes already returned unchanged when the pool is refilled", () => {
    const first = pooledRandomBytes(12);
    const copy = Buffer.from(first);
    for (let i = 0; i < 1_000; i += 1) pooledRandomBytes(12);
    expect(first.equals(copy)).to.equal(true);
  });

  it("should look random: every byte value occurs over many draws", () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 500; i += 1)
      for (const byte of pooledRandomBytes(64)) counts[byte] = (counts[byte] ?? 0) + 1;
    expect(counts.filter((count) => count === 0)).to.have.length(0);
  });

  it("should reject a negative or fractional size", () => {
    expect(() => pooledRandomBytes(-1)).to.throw(RangeError);
    expect(() => pooledRandomBytes(1.5)).to.throw(RangeError);
  });
});
