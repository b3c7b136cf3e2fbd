import { createHash } from "node:crypto";

/**
 * SHA-256 of the concatenation of `parts` (strings as UTF-8), as lower-case hex. A pure helper so
 * the audit domain can state its hash rule (security.md AUD-1/AUD-3) without importing
 * node:crypto itself (STYLE.md §1).
 */
export function sha256Hex(...parts: readonly (Uint8Array | string)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

/** The bytes of an even-length hex string; TypeError for anything else, so bad input never hashes. */
export function hexToBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw new TypeError("hexToBytes: not an even-length hex string");
  return new Uint8Array(Buffer.from(hex, "hex"));
}
