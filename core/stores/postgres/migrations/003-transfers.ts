/**
 * Migration 3: customer transfers and saved payees (DESIGN.md, Banking; security.md §7 ID-4,
 * ID-9 and §8 LED-5). Transfers between customers keep their idempotency key per caller (the
 * service-token subject) with a fingerprint of the request, so the same key with other fields is
 * detectable; deposits keep their global key. The transfers rows are the idempotency records and
 * are never deleted, which covers the ≥ 24 h retention (ID-3). Never edit it once released.
 */
export const transfersMigration = {
  version: 3,
  name: "003_transfers",
  sql: `
CREATE TABLE beneficiaries (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  customer_id text NOT NULL REFERENCES customers (id),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 70),
  account_id text NOT NULL REFERENCES accounts (id),
  created_at timestamptz NOT NULL,
  CONSTRAINT beneficiaries_customer_account_unique UNIQUE (customer_id, account_id)
);

-- Adding nullable columns rewrites no row, so the append-only triggers of 001 never fire.
ALTER TABLE transfers ADD COLUMN caller_id text, ADD COLUMN fingerprint text;

-- A customer transfer names its caller and carries a SHA-256 fingerprint; a deposit carries neither.
ALTER TABLE transfers ADD CONSTRAINT transfers_caller_scope CHECK (
  CASE kind
    WHEN 'transfer' THEN caller_id IS NOT NULL AND fingerprint ~ '^[0-9a-f]{64}$'
      AND char_length(idempotency_key) BETWEEN 1 AND 255
    ELSE caller_id IS NULL AND fingerprint IS NULL
  END
);

-- 001 made (kind, idempotency_key) unique for every kind. Deposits keep exactly that, as a partial
-- index; transfers become unique per caller (ID-9): one caller's key never reaches another's.
-- Both changes run in the migration's one transaction, so no window lets a duplicate in.
ALTER TABLE transfers DROP CONSTRAINT transfers_idempotency_unique;
CREATE UNIQUE INDEX transfers_deposit_key_unique ON transfers (kind, idempotency_key) WHERE kind = 'deposit';
ALTER TABLE transfers ADD CONSTRAINT transfers_caller_key_unique UNIQUE (kind, caller_id, idempotency_key);
`,
} as const;
