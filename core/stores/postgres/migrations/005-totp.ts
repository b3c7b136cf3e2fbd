/**
 * Migration 5: enrolled TOTP authenticators (issue 5 items 1 and 6; DESIGN.md Identity and
 * Banking). One row per customer: a new enrolment replaces the old one. The secret is stored only
 * sealed by lib/aead.ts (AES-256-GCM, key id in the value, AAD `totp:<customer id>`), never as
 * Base32 or raw bytes (security.md §10, RFC 4226 §7.5). last_step is the RFC 6238 time step of the
 * last accepted code, moved forward only by a conditional UPDATE so each step is accepted once.
 * Never edit it once released: add a migration.
 */
export const totpMigration = {
  version: 5,
  name: "005_totp",
  sql: `
CREATE TABLE totp_authenticators (
  customer_id text PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
  secret_sealed text NOT NULL CHECK (secret_sealed LIKE 'v1.%'),
  last_step bigint CHECK (last_step >= 0),
  enrolled_at timestamptz NOT NULL
);
`,
} as const;
