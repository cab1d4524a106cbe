-- A self-unlock allowlists the owner's address for `unlock_ttl` only: such entries expire.
-- NULL: kept until removed (every entry added by an admin).
ALTER TABLE allowlist ADD COLUMN expires_at TEXT;
CREATE INDEX allowlist_expires ON allowlist(expires_at) WHERE expires_at IS NOT NULL;
