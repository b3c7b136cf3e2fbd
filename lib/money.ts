/**
 * Money as the domain sees it: an ISO 4217 code and a bigint of minor units, never a float
 * (DESIGN.md, Banking). The rpc adapters convert to and from the generated `Money` message.
 */
export interface Money {
  readonly currency: string;
  readonly minorUnits: bigint;
}

/** The largest amount Teller accepts: 2^53 − 1 minor units, so every amount also fits a JSON number. */
export const MAX_MINOR_UNITS = 9_007_199_254_740_991n;

const currencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf("currency"));

/** True when `code` is an active ISO 4217 alphabetic code as the runtime's ICU data knows them. */
export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && currencies.has(code);
}

const digitsByCurrency = new Map<string, number>();

/** Digits after the decimal point for a currency: 2 for EUR, 0 for JPY, 3 for KWD. */
export function minorUnitDigits(currency: string): number {
  let digits = digitsByCurrency.get(currency);
  if (digits === undefined) {
    // Building an Intl.NumberFormat costs more than the whole reply; there are ~300 codes, so cache.
    const format = new Intl.NumberFormat("en", { style: "currency", currency });
    digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    digitsByCurrency.set(currency, digits);
  }
  return digits;
}

/**
 * Formats money for a customer, for example "1,234.50 EUR". Integer arithmetic only: the
 * amount is split with bigint division so no float ever holds a balance.
 */
export function formatMoney(money: Money): string {
  const digits = minorUnitDigits(money.currency);
  const negative = money.minorUnits < 0n;
  const abs = negative ? -money.minorUnits : money.minorUnits;
  const scale = 10n ** BigInt(digits);
  const whole = (abs / scale).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const fraction = digits > 0 ? `.${(abs % scale).toString().padStart(digits, "0")}` : "";
  return `${negative ? "-" : ""}${whole}${fraction} ${money.currency}`;
}
