import type { Clock } from "../../../lib/clock.js";
import type { IdSource } from "../../../lib/ids.js";
import { DomainError, invalidArgument } from "../../domain/errors.js";
import type { Beneficiary, BeneficiaryInput } from "../../domain/ledger.js";
import { appendAuditEvent } from "./audit-append.js";
import type { BeneficiaryRow } from "./ledger-rows.js";
import { BENEFICIARY_COLUMNS, toBeneficiary } from "./ledger-rows.js";
import type { SqlClient } from "./sql-client.js";

/** What saving a payee needs besides the database. */
export interface BeneficiaryDeps {
  readonly clock: Clock;
  readonly ids: IdSource;
}

/** Longest payee name, in characters (banking_service.proto, Beneficiary.name; CHECK in 003). */
const MAX_NAME_LENGTH = 70;

function checkName(name: string): void {
  const length = [...name].length;
  if (name.trim() === "" || length > MAX_NAME_LENGTH) {
    throw invalidArgument("name", `must be 1..${MAX_NAME_LENGTH} characters, not only spaces`);
  }
}

async function requireParties(tx: SqlClient, input: BeneficiaryInput): Promise<void> {
  const { rows } = await tx.query<{ customer: boolean; account: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM customers WHERE id = $1) AS customer,
       EXISTS (SELECT 1 FROM accounts WHERE id = $2 AND kind = 'customer') AS account`,
    [input.customerId, input.accountId],
  );
  if (rows[0]?.customer !== true) throw new DomainError("NOT_FOUND", "The customer does not exist.");
  if (rows[0]?.account !== true) throw new DomainError("NOT_FOUND", "The payee's account does not exist.");
}

/**
 * Saves a payee in one transaction: NOT_FOUND for an unknown customer or account (a funding
 * account is not a payee), ALREADY_EXISTS when the customer saved that account before (UNIQUE
 * (customer_id, account_id), so two racing adds end with one row), and "beneficiary.added" in the
 * audit chain last. The name is the customer's own text, so the trail keeps only ids.
 */
export async function addBeneficiary(
  client: SqlClient,
  deps: BeneficiaryDeps,
  input: BeneficiaryInput,
): Promise<Beneficiary> {
  checkName(input.name);
  return client.transaction(async (tx) => {
    await requireParties(tx, input);
    const { rows } = await tx.query<BeneficiaryRow>(
      `INSERT INTO beneficiaries (id, customer_id, name, account_id, created_at)
       VALUES ($1, $2, $3, $4, $5::timestamptz)
       ON CONFLICT (customer_id, account_id) DO NOTHING
       RETURNING ${BENEFICIARY_COLUMNS}`,
      [
        deps.ids("ben_"),
        input.customerId,
        input.name,
        input.accountId,
        new Date(deps.clock.now()).toISOString(),
      ],
    );
    const row = rows[0];
    if (row === undefined) throw new DomainError("ALREADY_EXISTS", "This payee is already saved.");
    await appendAuditEvent(tx, deps.clock, {
      type: "beneficiary.added",
      customerId: input.customerId,
      outcome: "success",
      attributes: { beneficiary_id: row.id, account_id: input.accountId },
    });
    return toBeneficiary(row);
  });
}

/** A customer's payees, oldest first; NOT_FOUND for an unknown customer. */
export async function listBeneficiaries(client: SqlClient, customerId: string): Promise<Beneficiary[]> {
  const { rows } = await client.query<BeneficiaryRow>(
    `SELECT ${BENEFICIARY_COLUMNS} FROM beneficiaries WHERE customer_id = $1 ORDER BY seq`,
    [customerId],
  );
  if (rows.length > 0) return rows.map(toBeneficiary);
  // Only an empty answer needs the second question: no payees, or no such customer?
  const found = await client.query("SELECT 1 FROM customers WHERE id = $1", [customerId]);
  if (found.rows.length === 0) throw new DomainError("NOT_FOUND", "The customer does not exist.");
  return [];
}

/** One payee by id. */
export async function findBeneficiary(
  client: SqlClient,
  beneficiaryId: string,
): Promise<Beneficiary | undefined> {
  const { rows } = await client.query<BeneficiaryRow>(
    `SELECT ${BENEFICIARY_COLUMNS} FROM beneficiaries WHERE id = $1`,
    [beneficiaryId],
  );
  return rows[0] === undefined ? undefined : toBeneficiary(rows[0]);
}
