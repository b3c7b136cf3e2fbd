/**
 * Migration 8: the bank's review of held transfers (CustomerService.ReleaseHeldTransfer and
 * CancelHeldTransfer). A held transfer ends released — posted, with its two entries — or
 * cancelled, with none, and never changes again. Transfers were append-only (001); now exactly
 * that one step may update a row: its status from 'held' to 'posted' or 'cancelled', its reason
 * cleared, every other column as it was. The balanced-entries check follows: a cancelled transfer
 * has no entries, and the update itself is checked at commit too, so a release that forgot its
 * entries (or a cancel that gained some) cannot commit. Never edit it once released: add one.
 */
export const heldTransferReviewMigration = {
  version: 8,
  name: "008_held_transfer_review",
  sql: `
-- Replacing a CHECK scans the table once and rewrites no row, so no row trigger fires.
ALTER TABLE transfers DROP CONSTRAINT transfers_status_known;
ALTER TABLE transfers ADD CONSTRAINT transfers_status_known
  CHECK (status IN ('posted', 'held', 'cancelled'));

-- Only a customer transfer is held or cancelled; a held one says why, a cancelled one keeps no
-- sentence (the bank's reason is on the audit trail).
ALTER TABLE transfers DROP CONSTRAINT transfers_status_reason;
ALTER TABLE transfers ADD CONSTRAINT transfers_status_reason CHECK (
  CASE status
    WHEN 'held' THEN kind = 'transfer' AND char_length(status_reason) BETWEEN 1 AND 500
    WHEN 'cancelled' THEN kind = 'transfer' AND status_reason IS NULL
    ELSE status_reason IS NULL
  END
);

-- The one update a transfer allows: held to posted or cancelled, nothing else touched.
CREATE FUNCTION ledger_transfer_review() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status = 'held' AND NEW.status IN ('posted', 'cancelled')
     AND to_jsonb(NEW) - 'status' - 'status_reason' = to_jsonb(OLD) - 'status' - 'status_reason' THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;
DROP TRIGGER transfers_append_only ON transfers;
CREATE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transfers_review_only BEFORE UPDATE ON transfers
  FOR EACH ROW EXECUTE FUNCTION ledger_transfer_review();

-- At commit, a posted transfer has exactly two entries summing to zero (LED-1), a held or
-- cancelled one none. Same signature and search_path setting as 001 and 004.
CREATE OR REPLACE FUNCTION ledger_check_balanced(transfer text) RETURNS void LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $$
DECLARE
  unposted boolean;
  n integer;
  total numeric;
BEGIN
  unposted := coalesce((SELECT status IN ('held', 'cancelled') FROM transfers WHERE id = transfer), false);
  SELECT count(*), coalesce(sum(amount), 0) INTO n, total FROM entries WHERE transfer_id = transfer;
  IF (unposted AND n <> 0) OR (NOT unposted AND (n <> 2 OR total <> 0)) THEN
    RAISE EXCEPTION 'transfer % is not balanced', transfer USING ERRCODE = 'check_violation';
  END IF;
END;
$$;
CREATE CONSTRAINT TRIGGER transfers_reviewed_balanced AFTER UPDATE ON transfers
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transfer_balanced();
`,
} as const;
