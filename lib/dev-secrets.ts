import { createHmac, randomBytes } from "node:crypto";
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
