import { Agent } from "node:http";
import { startVisitor } from "../gateways/webchat/simulate.js";
import type { BenchChannel } from "./channel-sources.js";
import { accepted, postRequest, WEBHOOK_TEXT } from "./webhook-client.js";
import { sinkOf, type WebhookProcesses } from "./webhook-processes.js";
import { awaitDelivery } from "./webhook-rows.js";

/**
 * The checks before any load: a benchmark of a handler that refuses everything, or of a gateway
 * whose replies go nowhere, would measure nothing. Each channel's signed request is accepted and
 * its forged one refused with 401 by both targets, and the gateway's reply reaches that channel's
 * send API (or the visitor's mailbox) as a balance.
 */

/** Throws unless both targets check `channel`'s authenticity and the gateway's reply comes back. */
export async function checkChannel(p: WebhookProcesses, channel: BenchChannel): Promise<void> {
  const agent = new Agent({ keepAlive: false });
  const signed = (await channel.source())(0);
  const forged = (await channel.source(true))(0);
  try {
    for (const target of [p.bare, p.gateway]) {
      const sink = target === p.gateway ? sinkOf(p, channel.name) : undefined;
      const before = sink ? await sink.counts() : undefined;
      const status = await postRequest(agent, target.port, signed);
      const refused = await postRequest(agent, target.port, forged);
      if (!accepted(status) || refused !== 401)
        throw new Error(
          `${channel.name}: ${target.name} answered ${status} to a signed request and ${refused} to a forged one`,
        );
      if (!sink || !before) continue;
      const delivery = await awaitDelivery(sink, before, 1);
      if (delivery.delivered !== 1 || delivery.unexpected !== 0)
        throw new Error(
          `${channel.name}: the check request's reply did not arrive as a balance: ${JSON.stringify(delivery)}`,
        );
    }
  } finally {
    agent.destroy();
  }
}

/**
 * The web chat end to end as a browser has it: a new visitor gets a session (POST /chat/session),
 * opens the event stream, posts a message and reads the reply from the stream. Resolves with the
 * reply's text (a new visitor is not linked, so it is the invitation to link).
 */
export async function checkEventStream(gatewayPort: number): Promise<string> {
  const visitor = await startVisitor(`http://127.0.0.1:${gatewayPort}`);
  const stream = await visitor.events();
  try {
    const status = await visitor.send({ text: WEBHOOK_TEXT });
    if (!accepted(status)) throw new Error(`web: POST /chat/messages answered ${status}`);
    const [reply] = await stream.waitFor(1, 10_000);
    if (!reply?.text) throw new Error("web: the event stream carried an empty reply");
    return reply.text;
  } finally {
    stream.close();
  }
}
