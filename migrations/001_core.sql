-- EdgeJail core schema. This is a user-facing interface: the README documents it
-- with audit queries, so columns are named for the person reading them.

CREATE TABLE sites (
  id              TEXT PRIMARY KEY,            -- public id, sent as X-EdgeJail-Site
  name            TEXT NOT NULL,
  secret          TEXT NOT NULL,               -- HMAC key; never printed after creation, never logged
  created_at      TEXT NOT NULL,
  secret_rotated_at TEXT,
  site_url        TEXT,                        -- from the plugin's hello event
  plugin_version  TEXT,
  wp_version      TEXT,
  last_hello_at   TEXT,
  last_event_at   TEXT
);

-- One row per accepted event. Ignored events (allowlist, never-ban ranges) are kept,
-- with the reason, so "every attempt from this IP" is complete.
CREATE TABLE events (
  seq             INTEGER PRIMARY KEY,         -- arrival order, cheap range scans for purge
  id              TEXT NOT NULL UNIQUE,        -- the sender's UUID; the idempotency key
  site_id         TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  type            TEXT NOT NULL,
  ip              TEXT NOT NULL,
  ip_key          TEXT NOT NULL,               -- the IP, or its IPv6 prefix: what jails count and ban
  username        TEXT,
  user_agent      TEXT,
  path            TEXT,
  weight          INTEGER NOT NULL DEFAULT 1,
  occurred_at     TEXT NOT NULL,               -- ISO-8601 UTC, as reported by the site
  received_at     TEXT NOT NULL,
  ignored_reason  TEXT                          -- NULL when counted by the jails
);
CREATE INDEX events_ip_key_time ON events(ip_key, occurred_at);
CREATE INDEX events_received ON events(received_at);
CREATE INDEX events_site_time ON events(site_id, occurred_at);

-- One row per ban decision. A ban is lifted by setting lifted_at; it is never deleted
-- (purge keeps bans, they are the audit trail and the escalation history).
CREATE TABLE bans (
  id              INTEGER PRIMARY KEY,
  ip_key          TEXT NOT NULL,
  jail            TEXT NOT NULL,               -- jail name, or 'manual'
  reason          TEXT NOT NULL,
  trigger_event_ids TEXT,                      -- JSON array of event ids that crossed the threshold
  ban_count       INTEGER NOT NULL DEFAULT 1,  -- 1 for a first offence; drives bantime_increment
  created_at      TEXT NOT NULL,
  expires_at      TEXT NOT NULL,
  lifted_at       TEXT,
  lifted_by       TEXT,                        -- 'expiry', 'admin:api', 'admin:cli', ...
  state           TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','lifted'))
);
CREATE INDEX bans_active ON bans(state, expires_at);
CREATE INDEX bans_ip_key ON bans(ip_key, created_at);

-- Every decision and admin action, in words and as JSON detail.
CREATE TABLE audit_log (
  id              INTEGER PRIMARY KEY,
  at              TEXT NOT NULL,
  actor           TEXT NOT NULL,               -- 'jail:<name>', 'admin:api', 'admin:cli', 'system'
  action          TEXT NOT NULL,               -- 'ban', 'unban', 'extend', 'expire', 'site_add', ...
  ip_key          TEXT,
  ban_id          INTEGER REFERENCES bans(id),
  site_id         TEXT,
  detail          TEXT                          -- JSON; never holds a secret
);
CREATE INDEX audit_log_ip_key ON audit_log(ip_key, at);
CREATE INDEX audit_log_at ON audit_log(at);

-- Manual allowlist entries added at run time (the config file's allowlist is merged in).
CREATE TABLE allowlist (
  cidr            TEXT PRIMARY KEY,
  note            TEXT,
  created_at      TEXT NOT NULL,
  created_by      TEXT NOT NULL
);
