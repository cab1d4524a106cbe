-- Where each ban is enforced now that one backend may not hold them all: the list has a
-- capacity, IP access rules take its overflow within the API budget, and what fits nowhere
-- is served at the origin by the plugin's 403 cache.
--   placement: 'list' | 'access_rule' | 'origin_only' | NULL (nothing decided, or removed)
-- A row holds a slot of its placement while its state is not 'removed'.
ALTER TABLE cloudflare_enforcement ADD COLUMN placement TEXT;
UPDATE cloudflare_enforcement
   SET placement = CASE backend WHEN 'list' THEN 'list' WHEN 'access_rules' THEN 'access_rule' END
 WHERE state NOT IN ('removed', 'dry_run');
CREATE INDEX cloudflare_enforcement_placement ON cloudflare_enforcement(placement, state);

-- Ranges: one /24 (IPv4) or /48 (IPv6) placed at the edge for many bans that share it.
-- The bans keep their own rows and expiry; their enforcement rows say placement 'range'.
-- The range's own enforcement row is keyed by range_key like any ip_key.
CREATE TABLE enforcement_ranges (
  range_key       TEXT PRIMARY KEY,            -- '203.0.113.0/24' or '2001:db8:1::/48'
  members         TEXT NOT NULL,               -- JSON array of the ip_keys it stands for
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
