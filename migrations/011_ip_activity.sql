-- Where each address's events are, by the hour they arrived, in place of the index on
-- events(ip_key, occurred_at). Events arrive in seq order, so the table and its other
-- indexes grow at their right-hand edge; that index did not: every commit dirtied one leaf
-- per distinct address in it, and a commit holding 5,000 addresses wrote about 20 MB of
-- WAL for 18,000 events. This table has one row per (address, hour, site), written once
-- per commit that touched it, from the rows the commit inserted. Rows are numbered as they
-- are made, so the current hour's, which a commit updates, sit together at the table's end;
-- a new row costs one entry in the (ip_key, hour, site_id) index, as an event did before.
-- Interleaved runs, 2026-12-06: `edgejail tail` 39-41k -> 73k lines/s; batch-50 ingest over
-- 100,000 addresses within noise (41.5k vs 42.5k events/s, 3 pairs). Keyed hour first, with
-- a second index by address, the same ingest lost 12-16%: two B-tree inserts a new row.
CREATE TABLE ip_activity (
  id               INTEGER PRIMARY KEY,
  hour             TEXT NOT NULL,                -- received_at to the hour: 'YYYY-MM-DDTHH'
  ip_key           TEXT NOT NULL,
  site_id          TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  first_seq        INTEGER NOT NULL,             -- bounds of the events' seq in that hour: a history
  last_seq         INTEGER NOT NULL,             -- reads the rows between them, not the whole table
  events           INTEGER NOT NULL,
  last_occurred_at TEXT NOT NULL,
  last_reported_at TEXT,                         -- received_at of the latest that was not a self-unlock
  UNIQUE (ip_key, hour, site_id)
);

INSERT INTO ip_activity (hour, ip_key, site_id, first_seq, last_seq, events, last_occurred_at, last_reported_at)
  SELECT substr(received_at, 1, 13), ip_key, site_id, min(seq), max(seq), count(*), max(occurred_at),
    max(CASE WHEN type <> 'self_unlock' THEN received_at END)
  FROM events GROUP BY 1, 2, 3 ORDER BY 1;

DROP INDEX events_ip_key_time;
