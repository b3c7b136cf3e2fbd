import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { pooledRandomBytes } from "./random-pool.js";

/**
 * Encryption at rest for conversation transcripts and TOTP secrets: AES-256-GCM with a fresh
 * random 96-bit IV per call, a 128-bit tag, caller-supplied AAD, and the key id written beside
 * the ciphertext so keys rotate without a migration (security.md §10 ENC-1, ENC-2, ENC-4;
 * issue 5 item 6).
 *
 * Sealed format: `v1.<kid>.<iv>.<ciphertext>.<tag>`, the last three base64url without padding.
 * GCM authenticates `v1.<kid>.` followed by the caller's AAD, so the header cannot be altered
 * either. Callers pass an AAD naming where the value lives (e.g. `transcript:<row id>`), so a
 * ciphertext copied to another row fails to decrypt.
 *
 * Keyring format (`ENCRYPTION_KEYS`): comma-separated `kid:key` entries, each key standard
 * base64 (or base64url) of exactly 32 bytes, kid matching `[A-Za-z0-9_-]{1,32}`, no duplicate
 * kids. The FIRST entry encrypts; every entry decrypts. To rotate, put a new key in front and
 * keep the old ones until their data is re-encrypted or expired. With random IVs one key may
 * seal at most 2^32 values (SP 800-38D §8.3); rotate well before that.
 */

/** Stable codes of every AEAD failure, so callers classify errors without reading messages. */
export type AeadErrorCode =
  | "AEAD_MALFORMED"
  | "AEAD_UNKNOWN_KEY"
  | "AEAD_AUTH_FAILED"
  | "AEAD_KEYRING_INVALID";

/** An encryption or keyring failure, classified by `code` (STYLE.md §6). Never carries key bytes. */
export class AeadError extends Error {
  /** What went wrong, stable across releases. */
  readonly code: AeadErrorCode;

  constructor(code: AeadErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AeadError";
    this.code = code;
  }
}

/** Parsed `ENCRYPTION_KEYS`: the key that encrypts, and every key that may decrypt, by id. */
export interface Keyring {
  /** Id of the key new values are sealed with (the first entry). */
  readonly primaryKid: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

const VERSION = "v1";
const ALGORITHM = "aes-256-gcm";
const KEY_BYTES = 32;
/** SP 800-38D §5.2.1.1: 96-bit IVs. */
const IV_BYTES = 12;
/** Node DEP0182 / SP 800-38D §5.2.1.2: full 128-bit tag, always explicit. */
const TAG_BYTES = 16;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const B64URL_PATTERN = /^[A-Za-z0-9_-]*$/;

/**
 * Parses the `ENCRYPTION_KEYS` format described above. Throws an AeadError with code
 * `AEAD_KEYRING_INVALID` naming the offending entry by position or kid, never its key.
 */
export function parseKeyring(text: string): Keyring {
  const entries = text.split(",").map((entry) => entry.trim());
  if (entries.length === 1 && entries[0] === "") throw keyringError("no keys configured");
  const keys = new Map<string, Buffer>();
  entries.forEach((entry, index) => {
    const [kid, key] = parseEntry(entry, index);
    if (keys.has(kid)) throw keyringError(`key id "${kid}" appears twice`);
    keys.set(kid, key);
  });
  return { primaryKid: [...keys.keys()][0] as string, keys };
}

/**
 * Seals `plaintext` (a string is taken as UTF-8) with the keyring's primary key and a fresh
 * random 12-byte IV, binding `aad`. Returns the self-describing `v1.<kid>.<iv>.<ct>.<tag>`.
 */
export function encrypt(keyring: Keyring, plaintext: Uint8Array | string, aad: string): string {
  const kid = keyring.primaryKid;
  const key = keyring.keys.get(kid);
  if (key === undefined) throw keyringError("the primary key id has no key");
  // Pooled CSPRNG bytes: each IV is fresh and handed out once (lib/random-pool.ts).
  const iv = pooledRandomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(fullAad(kid, aad));
  const data = typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  const parts = [iv, ciphertext, cipher.getAuthTag()].map((part) => part.toString("base64url"));
  return [VERSION, kid, ...parts].join(".");
}

/**
 * Opens a value sealed by `encrypt` with the key its kid names, checking `aad`. Throws an
 * AeadError: `AEAD_MALFORMED` for a bad shape, version, IV or tag length (only 16-byte tags,
 * ENC-2); `AEAD_UNKNOWN_KEY` for a kid not in the keyring; `AEAD_AUTH_FAILED` when the tag does
 * not verify (wrong key, AAD, or any altered byte).
 */
export function decrypt(keyring: Keyring, sealed: string, aad: string): Buffer {
  const { kid, iv, ciphertext, tag } = parseSealed(sealed);
  const key = keyring.keys.get(kid);
  if (key === undefined) throw new AeadError("AEAD_UNKNOWN_KEY", `no key with id "${kid}"`);
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(fullAad(kid, aad));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new AeadError("AEAD_AUTH_FAILED", "ciphertext failed authentication", { cause });
  }
}

/**
 * Creates a new key for `ENCRYPTION_KEYS`: standard base64 of 32 CSPRNG bytes. For docs,
 * development and operators rotating keys; production keys come from a secret store.
 */
export function newEncryptionKey(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

function parseEntry(entry: string, index: number): [string, Buffer] {
  const separator = entry.indexOf(":");
  if (separator < 0) throw keyringError(`entry ${index + 1} is not "kid:base64key"`);
  const kid = entry.slice(0, separator);
  if (!KID_PATTERN.test(kid))
    throw keyringError(`entry ${index + 1} has a key id outside [A-Za-z0-9_-]{1,32}`);
  const key = decodeKey(entry.slice(separator + 1));
  if (key === undefined || key.length !== KEY_BYTES) {
    throw keyringError(`key "${kid}" is not base64 of exactly ${KEY_BYTES} bytes`);
  }
  return [kid, key];
}

function decodeKey(text: string): Buffer | undefined {
  const key = Buffer.from(text, "base64");
  // Buffer.from skips junk silently; only a canonical spelling is accepted.
  const canonical = [key.toString("base64"), key.toString("base64url")];
  return canonical.includes(text) ? key : undefined;
}

function parseSealed(sealed: string): { kid: string; iv: Buffer; ciphertext: Buffer; tag: Buffer } {
  const parts = typeof sealed === "string" ? sealed.split(".") : [];
  const [version, kid, iv, ciphertext, tag] = parts;
  if (parts.length !== 5 || version !== VERSION || kid === undefined || !KID_PATTERN.test(kid)) {
    throw malformed("not a v1 sealed value");
  }
  const ivBytes = decodeB64url(iv);
  const tagBytes = decodeB64url(tag);
  const ciphertextBytes = decodeB64url(ciphertext);
  if (ivBytes?.length !== IV_BYTES) throw malformed(`IV must be ${IV_BYTES} bytes`);
  if (tagBytes?.length !== TAG_BYTES) throw malformed(`tag must be ${TAG_BYTES} bytes`);
  if (ciphertextBytes === undefined) throw malformed("ciphertext is not base64url");
  return { kid, iv: ivBytes, ciphertext: ciphertextBytes, tag: tagBytes };
}

function decodeB64url(text: string | undefined): Buffer | undefined {
  if (text === undefined || !B64URL_PATTERN.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : undefined;
}

function fullAad(kid: string, aad: string): Buffer {
  return Buffer.from(`${VERSION}.${kid}.${aad}`, "utf8");
}

function keyringError(message: string): AeadError {
  return new AeadError("AEAD_KEYRING_INVALID", `ENCRYPTION_KEYS: ${message}`);
}

function malformed(message: string): AeadError {
  return new AeadError("AEAD_MALFORMED", message);
}
