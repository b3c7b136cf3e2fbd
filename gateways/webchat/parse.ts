import { z } from "zod";

/** Longest text a visitor may send: MAX_TEXT_CHARS's default, which the core enforces too. */
export const WEBCHAT_MAX_TEXT = 4096;
/** Longest quick-reply payload: the core's action_payload limit. */
export const WEBCHAT_MAX_ACTION = 256;

/**
 * One message the page posts to /chat/messages. `id` is a UUID the browser generates per message
 * and reuses on every retry of it: it is the core's message id, so a retry is answered once.
 */
const messageSchema = z
  .strictObject({
    id: z.uuid(),
    text: z.string().trim().min(1).max(WEBCHAT_MAX_TEXT).optional(),
    // Printable ASCII without spaces, like every payload the core issues (core/rpc/fields.ts).
    action: z
      .string()
      .regex(/^[\x21-\x7e]+$/)
      .max(WEBCHAT_MAX_ACTION)
      .optional(),
  })
  .refine((m) => (m.text === undefined) !== (m.action === undefined), "exactly one of text and action");

/** A parsed visitor message: text typed, or the payload of a quick-reply button. */
export type WebchatMessage =
  | { readonly id: string; readonly text: string; readonly action?: undefined }
  | { readonly id: string; readonly action: string; readonly text?: undefined };

/**
 * Parses the raw body of POST /chat/messages (JSON, ≤ MAX_BODY_BYTES by the app). The error names
 * the failing path only, never the visitor's words, so it is safe to log.
 */
export function parseWebchatMessage(raw: Buffer): WebchatMessage | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString("utf8"));
  } catch {
    return { error: "body is not JSON" };
  }
  const parsed = messageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { error: `invalid ${issue?.path.join(".") || "message"}: ${issue?.code ?? "invalid"}` };
  }
  const { id, text, action } = parsed.data;
  return text !== undefined ? { id, text } : { id, action: action as string };
}
