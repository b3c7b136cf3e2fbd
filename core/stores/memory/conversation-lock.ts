import type { ConversationLock } from "../../domain/conversation-ports.js";
import { DomainError } from "../../domain/errors.js";

/** Settings of createMemoryConversationLock. */
export interface MemoryConversationLockOptions {
  /** Longest a caller waits for its turn before CONVERSATION_BUSY, in ms; default 10,000. */
  readonly maxWaitMs?: number;
}

interface Chain {
  tail: Promise<void>;
  callers: number;
}

/**
 * Creates a ConversationLock in process memory: one promise chain per subject, so callers run in
 * arrival order, one at a time. A chain is dropped once its last caller leaves. A caller that
 * gives up after maxWaitMs still passes its turn on when its predecessor finishes.
 */
export function createMemoryConversationLock(options: MemoryConversationLockOptions = {}): ConversationLock {
  const maxWaitMs = options.maxWaitMs ?? 10_000;
  const chains = new Map<string, Chain>();

  return {
    // Not async: the turn must be taken synchronously so arrival order is call order.
    run<T>(subjectId: string, fn: () => Promise<T>): Promise<T> {
      const chain = chains.get(subjectId) ?? { tail: Promise.resolve(), callers: 0 };
      chains.set(subjectId, chain);
      const previous = chain.tail;
      let passOn!: () => void;
      chain.tail = new Promise<void>((resolve) => {
        passOn = resolve;
      });
      chain.callers += 1;
      const leave = () => {
        chain.callers -= 1;
        if (chain.callers === 0 && chains.get(subjectId) === chain) chains.delete(subjectId);
      };
      return takeTurn(previous, maxWaitMs, passOn, fn).finally(leave);
    },
  };
}

async function takeTurn<T>(
  previous: Promise<void>,
  maxWaitMs: number,
  passOn: () => void,
  fn: () => Promise<T>,
) {
  if (!(await settlesWithin(previous, maxWaitMs))) {
    void previous.then(passOn);
    throw conversationBusy(maxWaitMs);
  }
  try {
    return await fn();
  } finally {
    passOn();
  }
}

function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The DomainError of a caller that waited longer than maxWaitMs. */
function conversationBusy(retryAfterMs: number): DomainError {
  return new DomainError("CONVERSATION_BUSY", "Still working on your previous message; please try again.", {
    retryAfterMs,
  });
}
