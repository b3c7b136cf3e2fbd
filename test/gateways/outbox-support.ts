import { setTimeout as sleep } from "node:timers/promises";
import type { OutboundReply, Outbox, Sender, SendOutcome } from "../../gateways/outbox/outbox.js";
import type { OutboxQueue } from "../../gateways/outbox/queue.js";
import type { ManualClock } from "../../lib/clock.js";
import { createLogger, type Logger } from "../../lib/logger.js";

/** What one outbox implementation gives the shared suite. */
export interface OutboxFixture {
  /** Two handles on one store; for Redis two connections, as two processes would have. */
  readonly outboxes: readonly [Outbox & OutboxQueue, Outbox & OutboxQueue];
  readonly clock: ManualClock;
  cleanup(): Promise<void>;
}

/** A reply to `recipient` answering message `wamid.<sequence>`. */
export function reply(recipient: string, sequence: number, index = 0): OutboundReply {
  return {
    channel: "whatsapp",
    recipient,
    messageId: `wamid.${sequence}`,
    sequence,
    index,
    text: `secret text ${recipient} ${sequence}.${index}`,
    choices: [{ title: "Balance", payload: "balance" }],
  };
}

/** `recipient/sequence.index`, the name tests compare. */
export function label(item: OutboundReply): string {
  return `${item.recipient}/${item.sequence}.${item.index}`;
}

/** A Sender that records every attempt and answers by `script` (default: sent). */
export function recordingSender(
  script: (item: OutboundReply, attempt: number) => SendOutcome | Promise<SendOutcome> = () => ({
    kind: "sent",
  }),
) {
  const attempts: string[] = [];
  const sent: string[] = [];
  const sender: Sender = {
    async send(item) {
      attempts.push(label(item));
      const outcome = await script(item, attempts.filter((name) => name === label(item)).length);
      if (outcome.kind === "sent") sent.push(label(item));
      return outcome;
    },
  };
  return { sender, attempts, sent };
}

/** A logger whose lines are kept in `lines`, to prove what is never logged. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", destination: { write: (line: string) => lines.push(line) } });
  return { logger, lines };
}

/** A promise with its resolver, to hold a send open. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Waits, a little at a time, until `condition` holds. */
export async function until(condition: () => boolean): Promise<void> {
  for (let round = 0; !condition(); round++) {
    if (round > 1_000) throw new Error("condition never held");
    await sleep(2);
  }
}
