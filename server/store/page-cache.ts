// SQLite's page cache per connection. better-sqlite3 builds SQLite with a 16 MB default
// (SQLITE_DEFAULT_CACHE_SIZE=-16000), and ingest filled it within seconds: 16 MB of malloc
// that stayed, the largest single part of peak RSS after the node binary. Event ids are
// time-ordered (UUIDv7), so inserts touch the right-hand edge of each B-tree, and the
// rest of a page read comes from the kernel's cache. SQLite's own default, 2 MB, kept
// batch-50 ingest within noise of 16 MB (interleaved runs, 2026-12-05) and peak RSS
// 17 MB lower.
export const PAGE_CACHE_PRAGMA = 'cache_size = -2000';
