-- Indexes for the lookups that run per ban and at start-up. Without the first, SQLite
-- answered "the active bans of this IP" from bans_active, i.e. by walking every active
-- ban: harmless with ten bans, quadratic in a botnet flood (100,000 bans took the event
-- loop past a second per batch). The second serves "bans since" (start-up restore,
-- dashboard, `bans list --all`) without sorting the whole table.
CREATE INDEX bans_ip_key_state ON bans(ip_key, state, expires_at);
CREATE INDEX bans_created ON bans(created_at);
