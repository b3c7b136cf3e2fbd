/**
 * The SMS keywords carriers reserve and Twilio handles itself on long codes and toll-free numbers
 * (Twilio's "opt-out keywords (SMS STOP filtering)" support article). Twilio recognises a keyword
 * only when it is the whole message, in any letter case ("Stop" opts out, "stop please" does not),
 * replies on its own, keeps the opt-out list, and still posts the message to the webhook. With
 * Advanced Opt-Out (a Messaging Service, which also covers its WhatsApp senders) the bank edits the
 * keywords, and Twilio then says which kind a message was in the `OptOutType` parameter (STOP,
 * START or HELP): when present, that is authoritative (see optOutType).
 *
 * Decisions (issue 6, item 3):
 * - Opt-out (STOP, STOPALL, UNSUBSCRIBE, END, QUIT, REVOKE, OPTOUT): acknowledged and dropped.
 *   Twilio has confirmed the opt-out and refuses every later message to the number (error 21610),
 *   so the core is not asked and nothing is answered.
 * - CANCEL, though on Twilio's default list, goes to the dialog: in a banking conversation it is
 *   how a customer cancels a payment ("Reply 2 for Cancel"). Banks should remove it from the opt-out
 *   keywords in Advanced Opt-Out (Twilio allows removing all but STOP, START and HELP); where they
 *   have not, Twilio opts the customer out, the pending operation is still cancelled in the core,
 *   and the answer is refused with 21610 and dead-lettered, never retried.
 * - Opt-in (START, UNSTOP): Twilio confirms the re-subscription; nothing more to say, dropped.
 *   YES, which Twilio also counts as opt-in, is left to the dialog, where it confirms an operation.
 * - Help (HELP, INFO): answered with HELP_TEXT, a fixed text that needs no session and names the
 *   way out, as carriers expect of a HELP reply. Where Twilio's own HELP reply is still enabled the
 *   customer gets both; a bank that wants only ours empties Twilio's in Advanced Opt-Out.
 * - Only SMS has keywords by default; on WhatsApp "stop" or "help" is conversation unless Twilio
 *   marks it with OptOutType.
 */

/** What a reserved keyword asks for, when the message is one. */
export type TwilioKeyword = "opt-out" | "opt-in" | "help";

/** The fixed answer to HELP and INFO. */
export const HELP_TEXT =
  "Teller, your bank's assistant. Ask me for your balance, recent payments or payees, or to send money. " +
  "Reply STOP to unsubscribe. Message and data rates may apply.";

const KEYWORDS: ReadonlyMap<string, TwilioKeyword> = new Map([
  ...["STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT"].map(
    (word) => [word, "opt-out"] as const,
  ),
  ...["START", "UNSTOP"].map((word) => [word, "opt-in"] as const),
  ...["HELP", "INFO"].map((word) => [word, "help"] as const),
]);

/**
 * The keyword a message body is, if it is one: the whole body, trimmed, in any case. A trailing
 * "." or "!" is forgiven (phones add them), since treating "STOP." as chat would answer a customer
 * whose opt-out Twilio may have honoured; anything longer is ordinary text.
 */
export function reservedKeyword(body: string): TwilioKeyword | undefined {
  const word = body
    .trim()
    .replace(/[.!]+$/, "")
    .toUpperCase();
  return KEYWORDS.get(word);
}

/** The keyword kind Twilio's Advanced Opt-Out reports in `OptOutType`, when it names one we know. */
export function optOutType(value: string | undefined): TwilioKeyword | undefined {
  switch (value?.toUpperCase()) {
    case "STOP":
      return "opt-out";
    case "START":
      return "opt-in";
    case "HELP":
      return "help";
    default:
      return undefined;
  }
}
