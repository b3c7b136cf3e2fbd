/**
 * Migration 1: the double-entry ledger (DESIGN.md, Banking; security.md §8 LED-1…LED-5).
 * Kept as a string in a module rather than a .sql file so it ships inside the build and runs
 * unchanged on PGlite and on a PostgreSQL server. Never edit it once released: add a migration.
 */
export const ledgerMigration = {
  version: 1,
  name: "001_ledger",
  sql: `
CREATE TABLE customers (
  id text PRIMARY KEY,
  display_name text NOT NULL,
  phone_number text NOT NULL CONSTRAINT customers_phone_number_unique UNIQUE,
  created_at timestamptz NOT NULL
);

-- Customer accounts never go negative (LED-4); the bank's funding account of a currency mirrors
-- every deposit, so it may. seq orders accounts by opening when timestamps tie.
CREATE TABLE accounts (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  customer_id text REFERENCES customers (id),
  kind text NOT NULL CHECK (kind IN ('customer', 'funding')),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  balance bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  CONSTRAINT accounts_owner CHECK ((kind = 'customer') = (customer_id IS NOT NULL)),
  CONSTRAINT accounts_customer_balance_non_negative CHECK (kind <> 'customer' OR balance >= 0)
);
CREATE INDEX accounts_customer_idx ON accounts (customer_id, seq);
CREATE UNIQUE INDEX accounts_one_funding_per_currency ON accounts (currency) WHERE kind = 'funding';

-- One transfer per idempotency key and kind (LED-5): a replay cannot post twice.
CREATE TABLE transfers (
  id text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('deposit', 'transfer')),
  idempotency_key text NOT NULL,
  from_account_id text NOT NULL REFERENCES accounts (id),
  to_account_id text NOT NULL REFERENCES accounts (id),
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount bigint NOT NULL CHECK (amount > 0),
  reference text NOT NULL,
  created_at timestamptz NOT NULL,
  CONSTRAINT transfers_idempotency_unique UNIQUE (kind, idempotency_key),
  CONSTRAINT transfers_distinct_accounts CHECK (from_account_id <> to_account_id)
);

-- seq is the paging order. Entries of one account are inserted while its row is locked, so per
-- account seq order is commit order and a cursor never skips a late commit.
CREATE TABLE entries (
  id text PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  transfer_id text NOT NULL REFERENCES transfers (id),
  account_id text NOT NULL REFERENCES accounts (id),
  amount bigint NOT NULL CHECK (amount <> 0),
  balance_after bigint NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX entries_account_seq_idx ON entries (account_id, seq DESC);
CREATE INDEX entries_transfer_idx ON entries (transfer_id);

-- Transfers and entries are immutable; corrections are new transfers (TB-2, LED-4).
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER transfers_no_truncate BEFORE TRUNCATE ON transfers
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- At commit, every transfer has exactly two entries summing to zero (LED-1).
CREATE FUNCTION ledger_check_balanced(transfer text) RETURNS void LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $$
DECLARE
  n integer;
  total numeric;
BEGIN
  SELECT count(*), coalesce(sum(amount), 0) INTO n, total FROM entries WHERE transfer_id = transfer;
  IF n <> 2 OR total <> 0 THEN
    RAISE EXCEPTION 'transfer % is not balanced', transfer USING ERRCODE = 'check_violation';
  END IF;
END;
$$;
CREATE FUNCTION ledger_transfer_balanced() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM ledger_check_balanced(NEW.id);
  RETURN NULL;
END;
$$;
CREATE FUNCTION ledger_entry_balanced() RETURNS trigger LANGUAGE plpgsql
  SET search_path FROM CURRENT AS $$
BEGIN
  PERFORM ledger_check_balanced(NEW.transfer_id);
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER transfers_balanced AFTER INSERT ON transfers
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_transfer_balanced();
CREATE CONSTRAINT TRIGGER entries_balanced AFTER INSERT ON entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();
`,
} as const;
