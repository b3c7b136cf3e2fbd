import { expect } from "chai";
import { backoffDelay } from "../../gateways/outbox/backoff.js";

describe("backoffDelay", () => {
  it("should double the ceiling per attempt up to the maximum", () => {
    const half = () => 0.5;
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((attempt) => backoffDelay(attempt, 500, 60_000, half));
    expect(delays).to.deep.equal([250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
  });

  it("should spread the delay over the whole range below the ceiling (full jitter)", () => {
    expect(backoffDelay(3, 500, 60_000, () => 0)).to.equal(0);
    expect(backoffDelay(3, 500, 60_000, () => 0.999_999)).to.equal(1_999);
  });

  it("should stay a finite delay within the maximum for very late attempts", () => {
    expect(backoffDelay(5_000, 500, 60_000, () => 0.5)).to.equal(30_000);
  });
});
