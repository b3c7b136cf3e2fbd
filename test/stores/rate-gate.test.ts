import { expect } from "chai";
import type { RateGate } from "../../core/domain/conversation-ports.js";
import { DomainError } from "../../core/domain/errors.js";
import { createRateGate } from "../../core/stores/rate-gate.js";
import { createLimiter, type Limiter } from "../../lib/rate-limit.js";
import { createRedis } from "../../lib/redis.js";
import { createTestRedis, freePort, type TestRedis } from "../support/redis.js";

/** Consumes `count` units of `key` at once; returns the passes and the errors. */
async function consumeMany(gate: RateGate, key: string, count: number) {
  const outcomes = await Promise.allSettled(Array.from({ length: count }, () => gate.consume(key)));
  const errors = outcomes.flatMap((outcome) =>
    outcome.status === "rejected" ? [outcome.reason as unknown] : [],
  );
  return { passed: count - errors.length, errors };
}

function expectRateLimited(errors: readonly unknown[]) {
  for (const error of errors) {
    expect(error).to.be.instanceOf(DomainError);
    expect((error as DomainError).code).to.equal("RATE_LIMITED");
    expect((error as DomainError).retryAfterMs).to.be.greaterThan(0);
  }
}

function rateGateBehaviour(makeLimiter: (points: number) => Limiter) {
  it("should let exactly `points` of 100 parallel messages through and refuse the rest with RATE_LIMITED", async () => {
    const gate = createRateGate(makeLimiter(10));
    const { passed, errors } = await consumeMany(gate, "subject-a", 100);
    expect(passed).to.equal(10);
    expect(errors).to.have.length(90);
    expectRateLimited(errors);
  });

  it("should count each key on its own", async () => {
    const gate = createRateGate(makeLimiter(1));
    await gate.consume("subject-a");
    await gate.consume("subject-b");
    const { errors } = await consumeMany(gate, "subject-a", 1);
    expectRateLimited(errors);
    expect(errors).to.have.length(1);
  });
}

describe("createRateGate", () => {
  describe("on a memory limiter", () => {
    rateGateBehaviour((points) =>
      createLimiter({ keyPrefix: "teller:rl:test", points, durationSeconds: 60 }),
    );
  });

  describe("on a Redis limiter", () => {
    let test: TestRedis;
    beforeEach(async () => {
      test = await createTestRedis();
    });
    afterEach(async () => {
      await test.cleanup();
    });

    rateGateBehaviour((points) =>
      createLimiter({
        redis: test.redis,
        keyPrefix: `${test.prefix}:rl:messages`,
        points,
        durationSeconds: 60,
      }),
    );

    it("should keep limiting on the insurance limiter while Redis is unreachable", async () => {
      const down = createRedis(`redis://127.0.0.1:${await freePort()}`, { connectTimeoutMs: 200 });
      const connectionErrors: unknown[] = [];
      down.on("error", (error: unknown) => connectionErrors.push(error));
      try {
        const limiter = createLimiter({
          redis: down,
          keyPrefix: `${test.prefix}:rl:messages`,
          points: 10,
          durationSeconds: 60,
          insurancePoints: 3,
        });
        const { passed, errors } = await consumeMany(createRateGate(limiter), "subject-a", 5);
        expect(passed).to.equal(3);
        expect(errors).to.have.length(2);
        expectRateLimited(errors);
      } finally {
        down.disconnect();
      }
    });
  });

  it("should rethrow a store failure instead of reporting a limit", async () => {
    const outage = new Error("store down");
    const failing = { consume: () => Promise.reject(outage) } as unknown as Limiter;
    let caught: unknown;
    await createRateGate(failing)
      .consume("subject-a")
      .catch((error: unknown) => {
        caught = error;
      });
    expect(caught).to.equal(outage);
  });
});
