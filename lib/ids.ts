import { pooledRandomBytes } from "./random-pool.js";

/**
 * Creates an opaque random id: 128 bits from the CSPRNG as 22 base64url characters,
 * optionally prefixed (`cus_`, `acc_`) so ids are recognisable in logs and support tickets.
 * 128 bits meets ASVS 5 11.5.1 for non-guessable values.
 */
export function newId(prefix = ""): string {
  return prefix + pooledRandomBytes(16).toString("base64url");
}

/** A source of ids, injected so tests can make them predictable. */
export type IdSource = (prefix?: string) => string;
