import { expect } from "chai";
import type { Redis } from "ioredis";

/**
 * Redis Cluster slot checks for the store tests: every key set one script or transaction touches
 * must hash to one slot, or a cluster refuses it (DESIGN.md, State).
 */

/** CRC16-CCITT (XMODEM), the checksum Redis Cluster uses for key slots (cluster spec, "Keys distribution model"). */
export function crc16(data: Buffer): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of a key: the hash tag between the first `{` and the next `}` if non-empty. */
export function slotOf(key: string): number {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  const hashed = close > open + 1 ? key.slice(open + 1, close) : key;
  return crc16(Buffer.from(hashed)) % 16384;
}

/** Wraps a client so every script and transaction records the keys it touches. */
export function recording(redis: Redis, keySets: string[][]): Redis {
  const transaction = (multi: object, keys: string[]): object =>
    new Proxy(multi, {
      get(target, property) {
        const value = Reflect.get(target, property);
        if (typeof value !== "function") return value;
        if (property === "exec") {
          keySets.push(keys);
          return value.bind(target);
        }
        return (...args: unknown[]) => {
          keys.push(String(args[0]));
          value.apply(target, args);
          return transaction(target, keys);
        };
      },
    });
  return new Proxy(redis, {
    get(target, property) {
      const value = Reflect.get(target, property);
      if (typeof value !== "function") return value;
      if (property === "evalsha" || property === "eval") {
        return (...args: unknown[]) => {
          keySets.push(args.slice(2, 2 + Number(args[1])).map(String));
          return value.apply(target, args);
        };
      }
      if (property === "multi") return () => transaction(value.call(target), []);
      return value.bind(target);
    },
  });
}

/** Asserts that every key hashes to the same cluster slot. */
export function expectOneSlot(keys: readonly string[]): void {
  expect(new Set(keys.map(slotOf)).size, keys.join(", ")).to.equal(1);
}
