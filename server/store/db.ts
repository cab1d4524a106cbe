// Opens the SQLite audit store and brings its schema up to date.
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { projectPath } from '../paths.ts';
import { PAGE_CACHE_PRAGMA } from './page-cache.ts';

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
  const known = migrations.at(-1)?.version ?? 0;
  // An older edgejail on a newer schema would write rows the new one relies on incompletely
  // (migration 011: events without their ip_activity): stop it before its first write.
  if (current > known) {
    throw new Error(`the database's schema is version ${current}, newer than this edgejail knows (${known}): run the edgejail that upgraded it`);
  }
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

/** Increases whenever another connection commits to the database (the CLI beside the service). */
export function dataVersion(db: Db): number {
  return db.pragma('data_version', { simple: true }) as number;
}

export interface OpenOptions {
  migrate?: boolean;
  readonly?: boolean;
  /** Told when an existing data directory or database file is readable by others. */
  warn?: (message: string) => void;
}

const defaultWarn = (message: string) => void process.stderr.write(`edgejail: warning: ${message}\n`);

/**
 * The database holds every site's secret in plain text, so the data directory is created
 * 0700 and the database 0600 (SQLite gives its -wal and -shm files the database's mode).
 * The umask makes every later file of the process private too; files that already exist are
 * left as the admin set them, with a warning when others can read them.
 */
function prepareDataFiles(file: string): void {
  if (isMainThread) process.umask(0o077); // worker threads may not change it (nor need to)
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
}

function warnLooseModes(file: string, warn: (message: string) => void): void {
  const dir = dirname(file);
  const looser = (path: string, wanted: number) => {
    try {
      const mode = statSync(path).mode & 0o777;
      if (mode & 0o077) warn(`${path} is mode 0${mode.toString(8)}, readable by other users, and the database holds every site secret: chmod ${wanted.toString(8)} ${path}`);
    } catch {
      // Not there (no -wal yet): nothing to warn about.
    }
  };
  looser(dir, 0o700);
  for (const suffix of ['', '-wal', '-shm']) looser(`${file}${suffix}`, 0o600);
}

/**
 * WAL with synchronous=NORMAL: a committed transaction survives the process being
 * killed (kill -9), which is the promise behind a 2xx; only a power cut can lose the
 * last commits, a trade the ingest rate needs.
 */
export function openDatabase(file: string, options: OpenOptions = {}): Db {
  const onDisk = file !== ':memory:' && file !== '';
  if (onDisk && !options.readonly) prepareDataFiles(file);
  const db = new Database(file, { readonly: options.readonly ?? false });
  if (!options.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // After a reset the WAL file is cut back to this size instead of keeping its peak on disk.
    db.pragma('journal_size_limit = 67108864');
  }
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(PAGE_CACHE_PRAGMA);
  if (options.migrate ?? !options.readonly) migrate(db);
  if (onDisk && !options.readonly) warnLooseModes(file, options.warn ?? defaultWarn);
  return db;
}
