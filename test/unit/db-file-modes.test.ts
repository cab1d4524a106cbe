// The database holds every site's secret: its directory and files are private to the
// service's user when created, and an existing looser file is reported, not ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../server/store/db.ts';
import { tempDir } from '../support/service.ts';

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

test('a new data directory is 0700 and edgejail.db, -wal and -shm are 0600, whatever the umask was', () => {
  const tmp = tempDir();
  const previous = process.umask(0o022); // the usual login umask
  try {
    const dir = join(tmp.dir, 'data');
    const file = join(dir, 'edgejail.db');
    const warnings: string[] = [];
    const db = openDatabase(file, { warn: (m) => warnings.push(m) });
    db.prepare("INSERT INTO allowlist (cidr, note, created_at, created_by) VALUES ('192.0.2.1', NULL, 'now', 'test')").run();
    assert.deepEqual(
      [dir, file, `${file}-wal`, `${file}-shm`].map(modeOf),
      ['700', '600', '600', '600'],
    );
    assert.deepEqual(warnings, []);
    db.close();
  } finally {
    process.umask(previous);
    tmp.cleanup();
  }
});

test('an existing database readable by others is reported with the command that fixes it', () => {
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'edgejail.db');
    openDatabase(file).close();
    chmodSync(file, 0o644);
    chmodSync(tmp.dir, 0o755);
    const warnings: string[] = [];
    const db = openDatabase(file, { warn: (m) => warnings.push(m) });
    db.close();
    assert.equal(modeOf(file), '644', 'an existing file is the admin\'s: warned about, not changed');
    assert.ok(warnings.some((w) => w.includes(file) && w.includes('0644') && w.includes(`chmod 600 ${file}`)), warnings.join('\n'));
    assert.ok(warnings.some((w) => w.includes(`chmod 700 ${tmp.dir}`)), warnings.join('\n'));
    assert.ok(!warnings.some((w) => w.includes(`${file}-shm`) && w.includes('0600')));
  } finally {
    tmp.cleanup();
  }
});
