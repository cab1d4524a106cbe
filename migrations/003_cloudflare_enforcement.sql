-- What EdgeJail has placed at Cloudflare, per ip_key, and every API call it made.
-- Read with the audit queries in the README: "what did we do at Cloudflare for this IP".

-- One row per ip_key ever enforced: one Cloudflare rule or list item covers every ban
-- (jail) on that ip_key. The rule/item id is written in the same transaction that sets
-- state='active', so an unban always knows what to delete.
CREATE TABLE cloudflare_enforcement (
  ip_key          TEXT PRIMARY KEY,
  backend         TEXT NOT NULL,               -- 'access_rules' | 'list'
  scope           TEXT,                        -- 'account:<id>', 'zone:<id>' or 'list:<account id>/<list id>'
  state           TEXT NOT NULL CHECK (state IN
                    ('pending','applying','active','removing','removed','failed','foreign','dry_run')),
  cloudflare_id   TEXT,                        -- our access rule id or list item id, NULL until known
  -- 1 from just before a create call until its outcome is known: a lost response may
  -- have created a rule whose id we never saw, so it must be looked up, not re-created.
  create_uncertain INTEGER NOT NULL DEFAULT 0,
  target          TEXT,                        -- 'ip' | 'ip6' | 'ip_range'
  value           TEXT,                        -- the address or prefix sent to Cloudflare
  mode            TEXT,                        -- access rule mode ('block', ...); NULL for list items
  notes           TEXT,                        -- our tag as written at Cloudflare (notes / comment)
  applied_until   TEXT,                        -- the expiry written in the tag
  foreign_rule_id TEXT,                        -- someone else's rule already covers this ip_key: never deleted by us
  attempts        INTEGER NOT NULL DEFAULT 0,  -- consecutive failed attempts
  last_error      TEXT,
  applied_at      TEXT,
  updated_at      TEXT NOT NULL,
  rev             INTEGER NOT NULL DEFAULT 0   -- bumped on every write; the reconciler skips rows that moved under it
);
CREATE INDEX cloudflare_enforcement_state ON cloudflare_enforcement(state);

-- Every Cloudflare API call (or, in dry-run, every call we would have made). Never holds the token.
CREATE TABLE cloudflare_actions (
  id              INTEGER PRIMARY KEY,
  at              TEXT NOT NULL,
  ip_key          TEXT,                        -- NULL for calls about many ip_keys: see cloudflare_batch_items
  ban_id          INTEGER,                     -- latest active ban on ip_key when the call was made
  operation       TEXT NOT NULL,               -- create_rule, delete_rule, update_rule, find_rule, list_rules,
                                               -- add_list_items, delete_list_items, poll_bulk_operation, read_list_items, ...
  target          TEXT,                        -- what the call addressed: 'ip6 2001:db8::1 in account:...', a rule id, an operation id
  outcome         TEXT NOT NULL CHECK (outcome IN ('ok','error','dry_run')),
  http_status     INTEGER,
  cf_error_codes  TEXT,                        -- JSON array of Cloudflare error codes
  error           TEXT,
  duration_ms     INTEGER,
  batch_id        INTEGER REFERENCES cloudflare_batches(id)
);
CREATE INDEX cloudflare_actions_ip_key ON cloudflare_actions(ip_key, at);
CREATE INDEX cloudflare_actions_at ON cloudflare_actions(at);
CREATE INDEX cloudflare_actions_batch ON cloudflare_actions(batch_id);

-- A bulk list operation carries many ip_keys; its calls share a batch.
CREATE TABLE cloudflare_batches (
  id              INTEGER PRIMARY KEY,
  at              TEXT NOT NULL,
  operation       TEXT NOT NULL,               -- 'add' | 'remove'
  size            INTEGER NOT NULL
);
CREATE TABLE cloudflare_batch_items (
  batch_id        INTEGER NOT NULL REFERENCES cloudflare_batches(id),
  ip_key          TEXT NOT NULL,
  PRIMARY KEY (batch_id, ip_key)
);
CREATE INDEX cloudflare_batch_items_ip_key ON cloudflare_batch_items(ip_key);
