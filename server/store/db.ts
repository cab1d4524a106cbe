// Opens the SQLite audit store and brings its schema up to date.
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectPath } from '../paths.ts';

export type Db = Database.Database;

const MIGRATIONS_DIR = projectPath('migrations');
const MIGRATION_FILE = /^(\d{3})_[a-z0-9_]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((name) => MIGRATION_FILE.test(name))
    .sort()
    .map((name) => ({ version: Number(name.slice(0, 3)), name, sql: readFileSync(join(dir, name), 'utf8') }));
}

/** Applies pending migrations in order, each in its own transaction; returns the names applied. */
export function migrate(db: Db, migrations = listMigrations()): string[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const applied: string[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.name);
  }
  return applied;
}

/**
 * WAL with synchronous=NORMAL: a committed transaction survives the process being
 * killed (kill -9), which is the promise behind a 2xx; only a power cut can lose the
 * last commits, a trade the ingest rate needs.
 */
export function openDatabase(file: string, options: { migrate?: boolean; readonly?: boolean } = {}): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { readonly: options.readonly ?? false });
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // After a reset the WAL file is cut back to this size instead of keeping its peak on disk.
    db.pragma('journal_size_limit = 67108864');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (options.migrate ?? !options.readonly) migrate(db);
  return db;
}
