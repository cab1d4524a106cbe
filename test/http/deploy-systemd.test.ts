// contrib/systemd/edgejail.service: a unit systemd accepts without a single warning,
// with the hardening a hosting admin expects.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, productionNodeFlags } from '../support/process.ts';

const UNIT = join(ROOT, 'contrib/systemd/edgejail.service');
const text = readFileSync(UNIT, 'utf8');
const settings = new Map<string, string[]>();
for (const line of text.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line);
  if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
}
const setting = (key: string) => settings.get(key)?.at(-1);

before(() => {
  const r = spawnSync('bash', [join(ROOT, 'scripts/systemd-deps.sh')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `installing systemd-analyze: ${r.stderr}`);
});

/** The unit as systemd would load it; ExecStart's node must exist, so on a host without /usr/bin/node, point it at this one. */
function unitFileForThisHost(): { file: string; cleanup: () => void } {
  if (existsSync('/usr/bin/node')) return { file: UNIT, cleanup: () => undefined };
  const dir = mkdtempSync(join(tmpdir(), 'edgejail-unit-'));
  const file = join(dir, 'edgejail.service');
  writeFileSync(file, text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('systemd-analyze verify accepts the unit with no warning at all', () => {
  const unit = unitFileForThisHost();
  try {
    const r = spawnSync('systemd-analyze', ['verify', unit.file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // Unknown keys and bad values are only warnings (exit 0), so any output is a failure.
    assert.equal(r.stderr.trim(), '', 'no warnings');
  } finally {
    unit.cleanup();
  }
});

test('the unit runs as its own user with a private state directory, a memory cap and no way to gain privileges', () => {
  assert.ok(setting('DynamicUser') === 'yes' || (setting('User') && setting('User') !== 'root'), 'not root');
  assert.equal(setting('ProtectSystem'), 'strict');
  assert.equal(setting('StateDirectory'), 'edgejail');
  assert.equal(setting('StateDirectoryMode'), '0700');
  assert.equal(setting('NoNewPrivileges'), 'yes');
  assert.equal(setting('UMask'), '0077', 'the database holds every site secret');
  assert.match(setting('MemoryMax') ?? '', /^\d+[MG]$/);
  const maxMb = Number.parseInt(setting('MemoryMax')!, 10) * (setting('MemoryMax')!.endsWith('G') ? 1024 : 1);
  assert.ok(maxMb > 400, 'above overload.max_rss_mb, so the service sheds before the cgroup kills it');
  assert.ok(settings.get('Environment')?.includes('EDGEJAIL_DATA_DIR=/var/lib/edgejail'), 'the data dir is the state directory');
});

test('ExecStart runs the bundle with the flags npm start uses', () => {
  const exec = setting('ExecStart')!;
  assert.equal(exec, `/usr/bin/node ${productionNodeFlags().join(' ')} /opt/edgejail/dist/server/main.mjs`);
});

test('systemd rates the unit\'s exposure as OK or better', () => {
  const unit = unitFileForThisHost();
  try {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', unit.file], { encoding: 'utf8' });
    const level = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(r.stdout + r.stderr);
    assert.ok(level, r.stdout + r.stderr);
    assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]} ${level[2]}`);
  } finally {
    unit.cleanup();
  }
});

// contrib/systemd/edgejail-tail.service: `edgejail tail` as its own process.
const TAIL_UNIT = join(ROOT, 'contrib/systemd/edgejail-tail.service');
const tailText = readFileSync(TAIL_UNIT, 'utf8');
const tailSetting = (key: string) => [...tailText.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].at(-1)?.[1];

function tailUnitForThisHost(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'edgejail-unit-'));
  const file = join(dir, 'edgejail-tail.service');
  // ExecStart's node and script must exist where systemd-analyze looks: this checkout's.
  writeFileSync(file, tailText.replace(/^ExecStart=\/usr\/bin\/node \/opt\/edgejail\//m, `ExecStart=${process.execPath} ${ROOT}/`).replace(/^WorkingDirectory=.*$/m, `WorkingDirectory=${ROOT}`));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('the edgejail tail unit: systemd-analyze verify accepts it with no warning, its exposure is OK or better', () => {
  const unit = tailUnitForThisHost();
  try {
    const verify = spawnSync('systemd-analyze', ['verify', unit.file], { encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), '', 'no warnings');
    const security = spawnSync('systemd-analyze', ['security', '--offline=yes', unit.file], { encoding: 'utf8' });
    const level = /Overall exposure level for \S+: ([\d.]+) (\w+)/.exec(security.stdout + security.stderr);
    assert.ok(level, security.stdout + security.stderr);
    assert.ok(Number(level[1]) <= 2.0, `exposure ${level[1]} ${level[2]}`);
  } finally {
    unit.cleanup();
  }
});

test('the edgejail tail unit runs the tail command as the service\'s user, on the service\'s database, with no network', () => {
  assert.equal(tailSetting('User'), setting('User'), 'the same user as the service: its database stays readable to both');
  assert.equal(tailSetting('StateDirectory'), 'edgejail');
  assert.equal(tailSetting('UMask'), '0077');
  assert.equal(tailSetting('NoNewPrivileges'), 'yes');
  assert.equal(tailSetting('PrivateNetwork'), 'yes');
  assert.match(tailSetting('ExecStart')!, /^\/usr\/bin\/node \/opt\/edgejail\/server\/bin\/edgejail\.js tail --site \S+ --format nginx \/var\/log\//);
  assert.match(tailText, /^Environment=EDGEJAIL_DATA_DIR=\/var\/lib\/edgejail$/m);
  // The command line the unit runs is one `edgejail tail` accepts (up to the site, which this host has not).
  const args = tailSetting('ExecStart')!.split(' ').slice(2);
  assert.equal(args[0], 'tail');
  const data = mkdtempSync(join(tmpdir(), 'edgejail-unit-data-'));
  const r = spawnSync(process.execPath, [join(ROOT, 'server/bin/edgejail.js'), ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, EDGEJAIL_DATA_DIR: data, EDGEJAIL_CONFIG: '' } });
  rmSync(data, { recursive: true, force: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no site with the id or unique name "blog"/, 'its options parse; only the site is missing here');
});
