-- Multisite: one site id may stand for a whole WordPress network, so each event says which
-- blog it came from (the blog's home URL, as the plugin reports it), and each ban keeps the
-- blogs its trigger events came from: bans outlive the events, which retention purges.
ALTER TABLE events ADD COLUMN site_url TEXT;          -- NULL: the plugin did not say (single site, older plugin)
ALTER TABLE bans ADD COLUMN site_urls TEXT;           -- JSON array of distinct blog URLs; NULL for manual bans
