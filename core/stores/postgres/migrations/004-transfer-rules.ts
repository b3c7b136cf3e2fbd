/**
 * Migration 4: held transfers and the reads of the transfer rules (issue 5 item 3; DESIGN.md,
 * Banking). A transfer a fraud rule holds is recorded, so its idempotency key answers with it,
 * but moves no money: it has no entries. The balanced-entries check of 001 asked every transfer
 * for exactly two entries at commit; it now asks a held one for none, so the database itself
 * refuses money moved by a held transfer (LED-1 still holds for every posted one). Never edit it
 * once released: add a migration.
 */
export const transferRulesMigration = {
  version: 4,
  name: "004_transfer_rules",
  sql: `
-- A constant default and a nullable column rewrite no row (PostgreSQL 11+), and ALTER TABLE fires
-- no row trigger, so the append-only triggers of 001 stay as they are and every existing row,
-- deposits included, reads as posted.
ALTER TABLE transfers
  ADD COLUMN status text NOT NULL DEFAULT 'posted'
    CONSTRAINT transfers_status_known CHECK (status IN ('posted', 'held')),
  ADD COLUMN status_reason text;

-- Only a customer transfer can be held, and a held one says why (a sentence for the customer).
ALTER TABLE transfers ADD CONSTRAINT transfers_status_reason CHECK (
  CASE status
    WHEN 'held' THEN kind = 'transfer' AND char_length(status_reason) BETWEEN 1 AND 500
    ELSE status_reason IS NULL
  END
);

-- The rules read a customer's recent transfers per debited account and time (the trailing 24 h
-- sum, the velocity window, the latest amounts).
CREATE INDEX transfers_from_account_time_idx ON transfers (from_account_id, created_at)
  WHERE kind = 'transfer';

-- At commit, a posted transfer has exactly two entries summing to zero (LED-1) and a held one
-- none. Same signature and search_path setting as 001, so both constraint triggers keep calling it.
CREATE OR REPLACE FUNCTION ledger_check_balanced(transfer text) RETURNS void LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $$
DECLARE
  held boolean;
  n integer;
  total numeric;
BEGIN
  held := coalesce((SELECT status = 'held' FROM transfers WHERE id = transfer), false);
  SELECT count(*), coalesce(sum(amount), 0) INTO n, total FROM entries WHERE transfer_id = transfer;
  IF (held AND n <> 0) OR (NOT held AND (n <> 2 OR total <> 0)) THEN
    RAISE EXCEPTION 'transfer % is not balanced', transfer USING ERRCODE = 'check_violation';
  END IF;
END;
$$;
`,
} as const;
