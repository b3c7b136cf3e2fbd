/**
 * Migration 2: the append-only, hash-chained audit trail (DESIGN.md, Banking; security.md §9
 * AUD-3). seq is assigned by the appender as last + 1 under an advisory lock, not by a sequence,
 * so it is gapless and a deleted row shows as a gap. Never edit it once released: add a migration.
 */
export const auditMigration = {
  version: 2,
  name: "002_audit",
  sql: `
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  type text NOT NULL CHECK (type <> ''),
  customer_id text,
  subject_id text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure')),
  occurred_at timestamptz NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object'),
  prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash bytea NOT NULL CONSTRAINT audit_events_hash_unique UNIQUE CHECK (length(hash) = 32)
);
CREATE INDEX audit_events_customer_idx ON audit_events (customer_id, seq) WHERE customer_id IS NOT NULL;
CREATE INDEX audit_events_type_idx ON audit_events (type, seq);
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at, seq);

-- Entries are immutable (issue 5 item 5); only someone able to disable triggers can change one,
-- and the hash chain then shows where.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit table % is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
`,
} as const;
