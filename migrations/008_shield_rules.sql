-- What the login shield has placed at Cloudflare: one row per site and rule part, like
-- cloudflare_enforcement is for bans. The rule id is written in the same statement that
-- says 'active', so lowering a shield always knows what to delete. Rows outlive their
-- site on purpose: a rule left at Cloudflare is still ours to remove.
CREATE TABLE shield_rules (
  site_id          TEXT NOT NULL,
  part             TEXT NOT NULL CHECK (part IN ('login','xmlrpc')),
  zone_id          TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('applying','active','removing','removed','failed','dry_run')),
  rule_id          TEXT,
  ruleset_id       TEXT,
  -- 1 from just before a create until its outcome is known: the rule is then found by its tag.
  create_uncertain INTEGER NOT NULL DEFAULT 0,
  action           TEXT,
  expression       TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  last_error       TEXT,
  applied_at       TEXT,
  updated_at       TEXT NOT NULL,
  PRIMARY KEY (site_id, part)
);
