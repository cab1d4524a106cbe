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
