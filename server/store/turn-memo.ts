// Rows read outside a transaction, kept until the end of the event loop's turn. Outside a
// transaction every read opens one of its own (WAL shared-memory locks): ~10 µs. Each
// signed request reads its site (8.5% of a single-event request, --cpu-prof, 2026-12-07)
// and each answer the newest audit id, values a turn's requests all share. A turn later
// they are read again, so a secret rotated by another process (the CLI) counts from the
// next turn, as it would have for a request that came a moment earlier. This process's
// own writes forget them at once, and reads inside a transaction are never kept: they are
// cheap there and may see what a rollback takes back.
import type { Db } from './db.ts';

export interface TurnMemo<Value> {
  /** The value from the memo, or from `read` (kept for the rest of the turn unless in a transaction). */
  get(key: string, read: (key: string) => Value): Value;
  /** Forgets every value: call on any write to what they were read from. */
  forget(): void;
}

const memos = new WeakMap<Db, Map<string, TurnMemo<unknown>>>();

/** The memo named `name` of one connection, shared by every store that reads or writes what it holds. */
export function turnMemo<Value>(db: Db, name: string): TurnMemo<Value> {
  let named = memos.get(db);
  if (!named) memos.set(db, (named = new Map()));
  let memo = named.get(name) as TurnMemo<Value> | undefined;
  if (memo) return memo;
  const values = new Map<string, Value>();
  let clearing = false;
  const clear = () => {
    values.clear();
    clearing = false;
  };
  memo = {
    get(key, read) {
      if (db.inTransaction) return read(key);
      if (values.has(key)) return values.get(key)!;
      const value = read(key);
      values.set(key, value);
      if (!clearing) {
        clearing = true;
        setImmediate(clear).unref();
      }
      return value;
    },
    forget: () => values.clear(),
  };
  named.set(name, memo as TurnMemo<unknown>);
  return memo;
}

/** What the stores memoise per turn. */
export const SITES_MEMO = 'sites';
export const AUDIT_MEMO = 'audit';
