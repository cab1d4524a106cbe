-- The durable outbox between jail decisions and Cloudflare. Every ban that is created,
-- extended or lifted enqueues its ip_key here in the same transaction, so a crash after
-- commit can never forget that Cloudflare has to change. The enforcer consumes rows and
-- deletes them only once Cloudflare matches the bans table.
CREATE TABLE enforcement_outbox (
  ip_key          TEXT PRIMARY KEY,
  queued_at       TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  last_error      TEXT
);
CREATE INDEX enforcement_outbox_due ON enforcement_outbox(next_attempt_at);
