import { isCurrency, MAX_MINOR_UNITS, minorUnitDigits } from "../../../lib/money.js";

/** What a "send 25 EUR to Alice" message says, before any account or payee is looked up. */
export interface TransferText {
  /** The amount as typed ("25", "25.50", "1,000"), with a currency when one was given. */
  readonly amount?: { readonly text: string; readonly currency?: string };
  /** The payee's name as typed, 1..70 characters. */
  readonly payeeName?: string;
}

const SYMBOLS: Readonly<Record<string, string>> = { "€": "EUR", "£": "GBP", $: "USD" };

/** An amount with an optional symbol or code on either side: "€25", "25.50 EUR", "EUR 1,000". */
const AMOUNT =
  /(?:(?<pre>[€£$])\s?|\b(?<preCode>[a-z]{3})\s)?(?<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,3})?|\d{1,15}(?:[.,]\d{1,3})?)(?:\s?(?<post>[€£$])|\s(?<postCode>[a-z]{3})\b)?/i;

/**
 * Reads the amount and the payee out of a transfer request. The verb ("send", "pay", …) is the
 * first word. Only an ISO 4217 code or a €/£/$ symbol counts as a currency, so "send 25 for rent"
 * does not invent a currency called FOR.
 */
export function parseTransferText(text: string): TransferText {
  const body = text
    .replace(/^\S+\s*/, "")
    .replace(/[.!?]+$/, "")
    .trim();
  const match = AMOUNT.exec(body);
  const groups = match?.groups ?? {};
  // A code before the number counts only in capitals ("EUR 25"): "pay Bob 10" must not pay in
  // bolivianos (BOB). After the number any case does ("25 eur").
  const preCode = groups.preCode === groups.preCode?.toUpperCase() ? groups.preCode : undefined;
  const currency = currencyOf(groups.pre ?? groups.post) ?? codeOf(groups.postCode) ?? codeOf(preCode);
  let rest = body;
  if (match) {
    // Drop only the parts that were read as money: a code that is not a currency stays in the name.
    const kept = [groups.preCode, groups.postCode].filter((c) => c && codeOf(c) !== currency).join(" ");
    rest = `${body.slice(0, match.index)} ${kept} ${body.slice(match.index + match[0].length)}`;
  }
  const to = /\bto\s+(.+)$/i.exec(rest);
  const name = (to ? to[1] : rest)
    ?.replace(/\b(please|now)\b/gi, "")
    .replace(/\s+/g, " ")
    .trim();
  return {
    ...(groups.num ? { amount: { text: groups.num, ...(currency ? { currency } : {}) } } : {}),
    ...(name ? { payeeName: name.slice(0, 70) } : {}),
  };
}

function currencyOf(symbol: string | undefined): string | undefined {
  return symbol ? SYMBOLS[symbol] : undefined;
}

function codeOf(code: string | undefined): string | undefined {
  const upper = code?.toUpperCase();
  return upper && isCurrency(upper) ? upper : undefined;
}

/**
 * Converts a typed amount to minor units of `currency` with integer arithmetic only: "25.5" EUR
 * → 2550n. A comma followed by 1-2 digits is a decimal comma ("25,50"), otherwise a thousands
 * separator. Undefined when the amount has more decimals than the currency, is zero, or is too big.
 */
export function toMinorUnits(amount: string, currency: string): bigint | undefined {
  const decimalComma = /^\d+,\d{1,2}$/.test(amount);
  const plain = decimalComma ? amount.replace(",", ".") : amount.replaceAll(",", "");
  const [whole = "", fraction = ""] = plain.split(".");
  const digits = minorUnitDigits(currency);
  if (!/^\d+$/.test(whole) || fraction.length > digits || !/^\d*$/.test(fraction)) return undefined;
  const minor = BigInt(whole) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, "0") || "0");
  return minor > 0n && minor <= MAX_MINOR_UNITS ? minor : undefined;
}
