import { createHmac, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK } from "jose";

/** Secrets a development machine generates once and keeps under DATA_DIR. */
export interface DevSecrets {
  /** Ed25519 private key (with kid and alg) used by `teller token` and the gateways. */
  readonly privateJwk: JWK;
  /** The matching public key, the core's JWKS in development. */
  readonly publicJwk: JWK;
  /** USER_ID_SALT for subject ids, 32 random bytes as hex. */
  readonly userIdSalt: string;
}

const FILE_NAME = "dev-secrets.json";

/**
 * Returns the development secrets under `dataDir`, generating them on first use. Kept on disk
 * (mode 0600) so tokens minted by `teller token` stay valid across restarts and subject ids stay
 * stable. Never used with NODE_ENV=production: the config loader refuses to start without real ones.
 */
export async function ensureDevSecrets(dataDir: string): Promise<DevSecrets> {
  const path = join(dataDir, FILE_NAME);
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as DevSecrets;
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const kid = `dev-${randomBytes(6).toString("hex")}`;
  const secrets: DevSecrets = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: "EdDSA", use: "sig" },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" },
    userIdSalt: randomBytes(32).toString("hex"),
  };
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: "wx" });
  } catch (err) {
    // Another process (core and gateways starting together) wrote them first: use theirs.
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      return JSON.parse(readFileSync(path, "utf8")) as DevSecrets;
    throw err;
  }
  chmodSync(path, 0o600);
  return secrets;
}

/** Reads existing development secrets without creating them (for `teller token`). */
export function readDevSecrets(dataDir: string): DevSecrets | undefined {
  const path = join(dataDir, FILE_NAME);
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as DevSecrets) : undefined;
}

/**
 * A development-only channel secret (WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN, …) derived from
 * the stored salt, so the gateway and `teller chat` agree on it without another file to keep.
 */
export function deriveDevSecret(secrets: DevSecrets, name: string): string {
  return createHmac("sha256", secrets.userIdSalt).update(`dev-secret:${name}`).digest("hex");
}

/** The step-up secrets development derives: STEP_UP_OTP_KEY and STEP_UP_PRIVATE_JWK. */
export interface DevStepUpKeys {
  /** 32 bytes: the HMAC key of one-time codes (lib/otp-code.ts). */
  readonly otpKey: Uint8Array;
  /** An Ed25519 private JWK (alg EdDSA, kid) that signs step-up tokens. */
  readonly privateJwk: JWK;
}

/** PKCS #8 DER prefix of an Ed25519 private key, followed by its 32-byte seed (RFC 8410 §7). */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * Development-only step-up secrets derived from the stored salt, like deriveDevSecret: stable
 * across restarts, so a token minted before a restart still verifies, and nothing is added to
 * dev-secrets.json, whose format stays as it was. Only the salt is needed, so a config loader can
 * derive them from USER_ID_SALT when no development secrets were loaded (tests).
 */
export function deriveDevStepUpKeys(secrets: Pick<DevSecrets, "userIdSalt">): DevStepUpKeys {
  const derive = (name: string) =>
    createHmac("sha256", secrets.userIdSalt).update(`dev-secret:${name}`).digest();
  return {
    otpKey: new Uint8Array(derive("STEP_UP_OTP_KEY")),
    privateJwk: ed25519Jwk(derive("STEP_UP_PRIVATE_JWK"), "dev-stepup"),
  };
}

/**
 * The development AUDIT_CHECKPOINT_JWK: an Ed25519 private JWK derived from the stored salt like
 * the step-up key, so checkpoints written before a restart still verify after it.
 */
export function deriveDevAuditCheckpointKey(secrets: Pick<DevSecrets, "userIdSalt">): JWK {
  const seed = createHmac("sha256", secrets.userIdSalt).update("dev-secret:AUDIT_CHECKPOINT_JWK").digest();
  return ed25519Jwk(seed, "dev-audit");
}

/** An Ed25519 private JWK (alg EdDSA, kid from its public key) from a 32-byte seed. */
function ed25519Jwk(seed: Buffer, kidPrefix: string): JWK {
  const key = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const jwk = key.export({ format: "jwk" }) as JWK;
  const x = (createPublicKey(key).export({ format: "jwk" }) as JWK).x ?? "";
  return { ...jwk, kid: `${kidPrefix}-${x.slice(0, 8)}`, alg: "EdDSA", use: "sig" };
}
