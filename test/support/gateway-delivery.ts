import { expect } from "chai";
import request from "supertest";
import type { Gateways } from "../../gateways/main.js";
import type { InboundRequest } from "./channels/harness.js";

/**
 * Posts (or gets) a provider request to the gateway's Koa app as the provider would, headers and
 * raw body as built by a channel harness, so signatures are checked on the exact bytes.
 */
export function deliver(gw: Gateways, req: InboundRequest) {
  const call = request(gw.app.callback());
  const pending = req.method === "GET" ? call.get(req.path) : call.post(req.path);
  for (const [name, value] of Object.entries(req.headers)) pending.set(name, value);
  return req.body === undefined ? pending : pending.send(req.body);
}

/**
 * Waits until the gateway's outbox is empty, i.e. every stored reply reached the fake send API
 * (or was dropped), so a test can then assert that nothing more was sent. Fails if it never empties.
 */
export async function outboxDrained(gw: Gateways): Promise<void> {
  for (let i = 0; i < 1_000 && (await gw.outbox.depth()) > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  expect(await gw.outbox.depth(), "outbox drained").to.equal(0);
}
