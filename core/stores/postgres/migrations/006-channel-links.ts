/**
 * Migration 6: links from chat identities to bank customers (DESIGN.md, Identity). Keyed by the
 * pseudonymous subject id, never a channel user id, and deletable: EraseSubject removes a link,
 * while the audit trail keeps its pseudonymous "channel.linked" entry. Never edit it once released.
 */
export const channelLinksMigration = {
  version: 6,
  name: "006_channel_links",
  sql: `
CREATE TABLE channel_links (
  subject_id text PRIMARY KEY CHECK (subject_id ~ '^[0-9a-f]{64}$'),
  channel text NOT NULL CHECK (channel IN ('web', 'whatsapp', 'telegram', 'instagram', 'facebook', 'sms')),
  customer_id text NOT NULL REFERENCES customers (id),
  linked_at timestamptz NOT NULL
);
CREATE INDEX channel_links_customer ON channel_links (customer_id);
`,
} as const;
