-- Sites know their Cloudflare zone and hostname (the login shield's rule goes there), and
-- every login shield raised at a site is kept, like bans: lowered, never deleted.

-- NULL means "the default": CLOUDFLARE_ZONE_ID for the zone, the host of the plugin's
-- hello site_url for the hostname. GET /v1/sites shows the values in effect.
ALTER TABLE sites ADD COLUMN zone_id TEXT;
ALTER TABLE sites ADD COLUMN hostname TEXT;

CREATE TABLE shields (
  id              INTEGER PRIMARY KEY,
  site_id         TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  state           TEXT NOT NULL DEFAULT 'up' CHECK (state IN ('up','down')),
  raised_at       TEXT NOT NULL,
  raised_by       TEXT NOT NULL,               -- 'detector', 'admin:cli', 'admin:api'
  reason          TEXT NOT NULL,               -- in figures: "312 failures from 211 IPs in 5m; 'admin' from 57 IPs"
  expires_at      TEXT NOT NULL,               -- moved on while the attack lasts
  extended_at     TEXT,
  lowered_at      TEXT,
  lowered_by      TEXT,                        -- 'expiry', 'admin:cli', 'admin:api'
  lowered_reason  TEXT
);
-- One shield up per site at a time.
CREATE UNIQUE INDEX shields_up_per_site ON shields(site_id) WHERE state = 'up';
CREATE INDEX shields_site_time ON shields(site_id, raised_at);
