import { AeadError, decrypt, encrypt, type Keyring } from "../../../lib/aead.js";
import type { Clock } from "../../../lib/clock.js";
import { DomainError } from "../../domain/errors.js";
import type { TotpAuthenticators } from "../../domain/totp.js";
import { appendAuditEvent } from "./audit-append.js";
import type { SqlClient } from "./sql-client.js";
import { sqlState } from "./sql-client.js";

/** Collaborators of the PostgreSQL TOTP store. */
export interface PostgresTotpStoreDeps {
  /** PGlite or pg, migrated; shared with the ledger and the audit trail, closed by its owner. */
  readonly client: SqlClient;
  /** Stamps enrolments and their audit events. */
  readonly clock: Clock;
  /** ENCRYPTION_KEYS: the first key seals new secrets, every key opens old ones (rotation). */
  readonly keyring: Keyring;
}

/**
 * The AAD of a customer's sealed secret: it names the row, so a ciphertext copied onto another
 * customer's row fails to open (security.md ENC-4, lib/aead.ts).
 */
export function totpAad(customerId: string): string {
  return `totp:${customerId}`;
}

/**
 * A sealed secret that does not open: the keyring lost its key, or the row was tampered with or
 * copied. Not a DomainError: the caller gets a generic INTERNAL and the log gets this cause, with
 * the AeadError's code and never a byte of key or secret.
 */
export class TotpSecretUnreadableError extends Error {
  constructor(customerId: string, cause: AeadError) {
    super(`the TOTP secret of customer ${customerId} cannot be opened (${cause.code})`, { cause });
    this.name = "TotpSecretUnreadableError";
  }
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DomainError || error instanceof TotpSecretUnreadableError) throw error;
    throw new DomainError("UNAVAILABLE", "Authenticators are unavailable; try again later.", {
      cause: error,
    });
  }
}

/**
 * Creates the TotpAuthenticators port on PostgreSQL (or PGlite, with the same SQL). Secrets are
 * sealed and opened here, so the domain never sees a ciphertext and the table never holds a
 * plaintext. acceptStep is one conditional UPDATE: under READ COMMITTED a second writer of the
 * same row waits for the first, then re-checks `last_step < step` against the committed value
 * (PostgreSQL docs §13.2.1), so two concurrent submissions of one code give one success.
 */
export function createPostgresTotpStore(deps: PostgresTotpStoreDeps): TotpAuthenticators {
  const { client, clock, keyring } = deps;
  return {
    find: (customerId) =>
      guard(async () => {
        const { rows } = await client.query<{ secret_sealed: string; last_step: string | null }>(
          "SELECT secret_sealed, last_step::text AS last_step FROM totp_authenticators WHERE customer_id = $1",
          [customerId],
        );
        const row = rows[0];
        if (row === undefined) return undefined;
        const secret = open(keyring, customerId, row.secret_sealed);
        return row.last_step === null ? { secret } : { secret, lastStep: BigInt(row.last_step) };
      }),

    acceptStep: (customerId, step) =>
      guard(async () => {
        const { rows } = await client.query(
          `UPDATE totp_authenticators SET last_step = $2::int8
           WHERE customer_id = $1 AND (last_step IS NULL OR last_step < $2::int8) RETURNING 1 AS accepted`,
          [customerId, step.toString()],
        );
        return rows.length === 1;
      }),

    enroll: (customerId, secret) =>
      guard(async () => {
        const sealed = encrypt(keyring, secret, totpAad(customerId));
        try {
          await client.transaction(async (tx) => {
            const { rows } = await tx.query(
              "SELECT 1 FROM totp_authenticators WHERE customer_id = $1 FOR UPDATE",
              [customerId],
            );
            // A new secret starts with no used steps: the old secret's steps say nothing about it.
            await tx.query(
              `INSERT INTO totp_authenticators (customer_id, secret_sealed, last_step, enrolled_at)
               VALUES ($1, $2, NULL, $3::timestamptz)
               ON CONFLICT (customer_id) DO UPDATE
                 SET secret_sealed = EXCLUDED.secret_sealed, last_step = NULL, enrolled_at = EXCLUDED.enrolled_at`,
              [customerId, sealed, new Date(clock.now()).toISOString()],
            );
            // NIST 63B §6.1 (security.md N-11): a record of every authenticator bound, with its time.
            await appendAuditEvent(tx, clock, {
              type: "totp.enrolled",
              customerId,
              outcome: "success",
              attributes: { replaced: String(rows.length > 0), key_id: keyring.primaryKid },
            });
          });
        } catch (error) {
          if (sqlState(error) !== "23503") throw error;
          throw new DomainError("NOT_FOUND", "No such customer.", { cause: error });
        }
      }),
  };
}

function open(keyring: Keyring, customerId: string, sealed: string): Buffer {
  try {
    return decrypt(keyring, sealed, totpAad(customerId));
  } catch (error) {
    if (error instanceof AeadError) throw new TotpSecretUnreadableError(customerId, error);
    throw error;
  }
}
