-- How far `edgejail tail` has read each log file, so a restart neither re-reads nor skips.
-- identity is the file's device:inode: another file at the path is a rotation, not a resume.
-- Written in the same transaction as the events read up to that offset.
CREATE TABLE log_offsets (
  path            TEXT PRIMARY KEY,
  identity        TEXT NOT NULL,
  offset          INTEGER NOT NULL,
  updated_at      TEXT NOT NULL
);
