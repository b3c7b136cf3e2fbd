/**
 * Fitting replies to the Send API's text limit (channels.md §2.3): Messenger takes 2000
 * characters, Instagram 1000 bytes, while the core writes up to 4096 characters (a long list of
 * payments). A long reply is split into several messages before it is stored, so each part is a
 * reply of its own in the outbox: delivered once, in order, and retried alone.
 */
import type { OutboundReply, Outbox } from "../outbox/outbox.js";
import type { TextLimit } from "./meta-channel.js";

/**
 * Most parts one reply becomes; also the stride of their outbox indices. The core's 4096
 * characters fill at most 13 parts of 1000 bytes (3 bytes per character), so the last part is cut
 * only for a text longer than the core ever writes.
 */
export const MAX_PARTS = 16;

const ELLIPSIS = "…";

/** The length of `text` as the limit counts it. */
export function measure(text: string, limit: TextLimit): number {
  return limit.unit === "utf8" ? Buffer.byteLength(text, "utf8") : text.length;
}

/**
 * Splits `text` into parts within the limit, each cut at a line break, else a space, found in the
 * second half of what fits (else at the limit itself, never inside a surrogate pair). Blank space
 * at a cut is dropped. Past `maxParts`, the last part is cut and ends with "…".
 */
export function splitText(text: string, limit: TextLimit, maxParts = MAX_PARTS): string[] {
  const parts: string[] = [];
  let rest = text;
  while (measure(rest, limit) > limit.max) {
    if (parts.length === maxParts - 1) return [...parts, cutText(rest, limit)];
    const { head, tail } = breakAt(rest, fitLength(rest, limit.max, limit));
    if (head !== "") parts.push(head);
    rest = tail;
  }
  if (rest !== "" || parts.length === 0) parts.push(rest);
  return parts;
}

/** `text` within the limit: whole when it fits, else cut at a line or word break, plus "…". */
export function cutText(text: string, limit: TextLimit): string {
  if (measure(text, limit) <= limit.max) return text;
  const room = limit.max - measure(ELLIPSIS, limit);
  return `${breakAt(text, fitLength(text, room, limit)).head}${ELLIPSIS}`;
}

/**
 * The replies with every text split to the limit. Part p of the reply at index i takes index
 * i × MAX_PARTS + p: a redelivered message yields the same ids (the outbox dedupes it), and the
 * outbox's (sequence, index) order keeps the parts in order. Quick replies go with the last part,
 * under the text they answer.
 */
export function splitReplies(replies: readonly OutboundReply[], limit: TextLimit): OutboundReply[] {
  return replies.flatMap((reply) => {
    const parts = splitText(reply.text, limit);
    return parts.map((text, p) => ({
      ...reply,
      index: reply.index * MAX_PARTS + p,
      text,
      choices: p === parts.length - 1 ? reply.choices : [],
    }));
  });
}

/** An Outbox that splits every reply to `limit` before storing it in `outbox`. */
export function splittingOutbox(outbox: Outbox, limit: TextLimit): Outbox {
  return {
    enqueue: (replies) => outbox.enqueue(splitReplies(replies, limit)),
    depth: () => outbox.depth(),
  };
}

/** UTF-16 length of the longest prefix of `text` within `max`, whole code points only. */
function fitLength(text: string, max: number, limit: TextLimit): number {
  let units = 0;
  let size = 0;
  for (const char of text) {
    size += measure(char, limit);
    if (size > max) break;
    units += char.length;
  }
  return units;
}

/** Cuts `text` at a break within its first `fit` units: the head (trimmed) and the rest. */
function breakAt(text: string, fit: number): { head: string; tail: string } {
  const window = text.slice(0, fit);
  const line = window.lastIndexOf("\n");
  const word = window.lastIndexOf(" ");
  // Nothing fits only under a limit smaller than one character: take one anyway, to move on.
  const least = fit > 0 ? fit : String.fromCodePoint(text.codePointAt(0) ?? 0).length;
  const at = line >= fit / 2 && line > 0 ? line : word >= fit / 2 && word > 0 ? word : least;
  return { head: text.slice(0, at).trimEnd(), tail: text.slice(at).replace(/^\s+/, "") };
}
