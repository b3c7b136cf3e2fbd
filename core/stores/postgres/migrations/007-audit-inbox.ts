/**
 * Migration 7: the audit inbox (DESIGN.md, Banking; security.md AUD-3). A business transaction
 * inserts its event here, with no lock and no read of the chain, so the event still commits or
 * rolls back with the change it records while concurrent changes no longer queue on the chain;
 * the chainer (audit-chainer.ts) then moves committed rows into audit_events in id order, under
 * the chain's advisory lock. The checks are audit_events' own, so an event the chain would refuse
 * fails its business transaction instead of blocking the chainer. A row is never edited, and
 * leaves only into the chain: a deferred trigger refuses, at commit, the deletion of a row no
 * audit_events entry names (inbox_id), so dropping a committed event takes disabling triggers,
 * as editing the chain does. Never edit it once released: add a migration.
 */
export const auditInboxMigration = {
  version: 7,
  name: "007_audit_inbox",
  sql: `
CREATE TABLE audit_inbox (
  id bigserial PRIMARY KEY,
  type text NOT NULL CHECK (type <> ''),
  customer_id text,
  subject_id text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure')),
  occurred_at timestamptz NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(attributes) = 'object')
);

-- Which inbox row each entry came from: not hashed (verification ignores it), unique, so no row
-- is chained twice; NULL on entries chained before the inbox existed.
ALTER TABLE audit_events ADD COLUMN inbox_id bigint CONSTRAINT audit_events_inbox_unique UNIQUE;

CREATE TRIGGER audit_inbox_no_update BEFORE UPDATE ON audit_inbox
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_inbox_no_truncate BEFORE TRUNCATE ON audit_inbox
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_inbox_refuse_unchained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM audit_events WHERE inbox_id = OLD.id) THEN
    RAISE EXCEPTION 'audit inbox row % was deleted without being chained', OLD.id
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NULL;
END;
$$;
CREATE CONSTRAINT TRIGGER audit_inbox_delete_chained AFTER DELETE ON audit_inbox
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_inbox_refuse_unchained();
`,
} as const;
