import { randomFillSync } from "node:crypto";

/**
 * CSPRNG bytes for the per-call values (AES-GCM IVs, ids, lock tokens), drawn from a pool
 * instead of one `randomBytes` call each. The profile of HandleMessage showed `randomFillSync`
 * at ~5 % of the core's busy time: every small `randomBytes` call pays a native crypto job of
 * its own (~1.6 µs for 12 bytes here), while slicing a pooled block costs under 0.1 µs. Node's
 * own `crypto.randomUUID` pools its entropy the same way.
 *
 * The bytes are the same CSPRNG output `randomBytes` gives; each byte is handed out once. A
 * spent block is never refilled in place: a new one is allocated, so a slice already returned
 * (an IV still being used, say) can never change under its holder.
 */

/** Bytes fetched from the CSPRNG at once; larger requests bypass the pool. */
const POOL_BYTES = 4096;

let pool: Buffer = Buffer.alloc(0);
let offset = 0;

/** `size` fresh bytes from the CSPRNG, as `crypto.randomBytes(size)` gives but cheaper for small sizes. */
export function pooledRandomBytes(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0)
    throw new RangeError("pooledRandomBytes: size must be a non-negative integer");
  if (size > POOL_BYTES) return randomFillSync(Buffer.allocUnsafeSlow(size));
  if (offset + size > pool.length) {
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared pool.
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + size);
  offset += size;
  return bytes;
}
