// Site rows read outside a transaction, kept until the end of the event loop's turn. Each
// signed request reads its site, and outside a transaction every read opens one of its own
// (WAL shared-memory locks): ~10 µs, 8.5% of a single-event request (--cpu-prof,
// 2026-12-07), for a row that a turn's requests all share. A turn later the row is read
// again, so a secret rotated by another process (the CLI) counts from the next turn, as it
// would have for a request that came a moment earlier. This process's own writes to
// `sites` forget the rows at once, and reads inside a transaction are never kept: they are
// cheap there and may see what a rollback takes back.
import type { Db } from './db.ts';

export interface SiteRowsMemo<Row> {
  /** The row from the memo, or from `read` (kept for the rest of the turn unless in a transaction). */
  get(id: string, read: (id: string) => Row | undefined): Row | undefined;
  /** Forgets every row: call on any write to `sites`. */
  forget(): void;
}

const memos = new WeakMap<Db, SiteRowsMemo<unknown>>();

/** The memo of one database connection, shared by the stores that read or write its `sites`. */
export function siteRowsMemo<Row>(db: Db): SiteRowsMemo<Row> {
  let memo = memos.get(db) as SiteRowsMemo<Row> | undefined;
  if (memo) return memo;
  const rows = new Map<string, Row | undefined>();
  let clearing = false;
  const clear = () => {
    rows.clear();
    clearing = false;
  };
  memo = {
    get(id, read) {
      if (db.inTransaction) return read(id);
      if (rows.has(id)) return rows.get(id);
      const row = read(id);
      rows.set(id, row);
      if (!clearing) {
        clearing = true;
        setImmediate(clear).unref();
      }
      return row;
    },
    forget: () => rows.clear(),
  };
  memos.set(db, memo as SiteRowsMemo<unknown>);
  return memo;
}
