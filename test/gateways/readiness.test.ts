import { type ChildProcess, spawn } from "node:child_process";
import { expect } from "chai";
import { createRedis } from "../../lib/redis.js";
import { type GatewayRig, startGatewayRig } from "../support/gateway.js";
import { freePort } from "../support/redis.js";

/** A Redis server of this test's own, so it can be stopped and started again on the same port. */
function startRedis(port: number): ChildProcess {
  const server = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  server.once("error", (err) => {
    throw new Error(
      `redis-server could not start (${err.message}); install Redis (apt-get install redis-server)`,
    );
  });
  return server;
}

async function until(check: () => Promise<boolean>, tries = 300): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe("gateway readiness", () => {
  let rig: GatewayRig;
  let server: ChildProcess | undefined;
  before(async () => {
    rig = await startGatewayRig();
  });
  after(async () => {
    server?.kill();
    await rig.close();
  });

  it("should turn not ready when Redis goes away and ready when it comes back", async () => {
    const port = await freePort();
    server = startRedis(port);
    const redis = createRedis(`redis://127.0.0.1:${port}`, { maxReconnectDelayMs: 100 });
    redis.on("error", () => {}); // outages are the point of this test
    try {
      const gw = rig.gateways({ redis });
      expect(await until(async () => (await gw.ready()).redis === true)).to.equal(true);
      expect((await gw.ready()).core).to.equal(true);
      server.kill("SIGKILL");
      expect(await until(async () => (await gw.ready()).redis === false)).to.equal(true);
      server = startRedis(port);
      expect(await until(async () => (await gw.ready()).redis === true)).to.equal(true);
      await gw.close();
    } finally {
      redis.disconnect();
    }
  });
});
