/**
 * Masks a phone number for logs: keeps the country prefix's "+" and the last 2 digits
 * ("+4479******89"), enough to correlate a support case, not enough to identify a person.
 */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, "");
  if (digits.length < 6) return "***";
  return `+${digits.slice(0, 2)}${"*".repeat(digits.length - 4)}${digits.slice(-2)}`;
}

/** True when a digit string passes the Luhn check used by payment card numbers. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Masks every Luhn-valid 13–19 digit number (spaces or dashes allowed between digits) so a card
 * number never reaches storage or logs (PCI DSS scope, DESIGN.md Banking). Returns the masked
 * text and whether anything was masked, so the dialog can warn the customer.
 */
export function maskCardNumbers(text: string): { text: string; masked: boolean } {
  let masked = false;
  const out = text.replace(/\d(?:[ -]?\d){12,18}/g, (candidate) => {
    const digits = candidate.replace(/[ -]/g, "");
    if (digits.length < 13 || digits.length > 19 || !luhnValid(digits)) return candidate;
    masked = true;
    return `[card ••••${digits.slice(-4)}]`;
  });
  return { text: out, masked };
}
