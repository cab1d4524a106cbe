// `edgejail tail`'s read positions, one row per followed path.
import type { Db } from './db.ts';
import { preparedOnFirstUse } from './prepared.ts';

export interface LogOffset {
  path: string;
  identity: string;
  offset: number;
}

export function createLogOffsetStore(db: Db) {
  const s = preparedOnFirstUse({
    get: () => db.prepare('SELECT path, identity, offset FROM log_offsets WHERE path = ?'),
    set: () => db.prepare(`INSERT INTO log_offsets (path, identity, offset, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (path) DO UPDATE SET identity = excluded.identity, offset = excluded.offset, updated_at = excluded.updated_at`),
  });
  return {
    get: (path: string) => (s.get.get(path) as LogOffset | undefined) ?? null,
    set: (o: LogOffset, at: string) => void s.set.run(o.path, o.identity, o.offset, at),
  };
}

export type LogOffsetStore = ReturnType<typeof createLogOffsetStore>;
