// `edgejail notify test`: a test message through each configured channel, a line per
// channel, a non-zero exit when one fails, and an audit row per message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHmac } from 'node:crypto';
import { runNotifyCommand } from '../../server/notify/commands.ts';
import { openDatabase } from '../../server/store/db.ts';
import { databasePath } from '../../server/config/load.ts';
import { tempDir, testConfig } from '../support/service.ts';
import { startSmtpSink, startWebhookSink } from '../support/notify-sinks.ts';

test('notify test reaches every channel, prints one line each, and exits 1 when one refuses', async () => {
  const tmp = tempDir();
  const good = await startWebhookSink();
  const gone = await startWebhookSink({ answer: () => ({ status: 410 }) });
  const smtp = await startSmtpSink({ user: 'ops', pass: 'relay-pass-1234' });
  try {
    writeFileSync(join(tmp.dir, 'secret'), 'cli-hook-secret');
    writeFileSync(join(tmp.dir, 'pass'), 'relay-pass-1234');
    const notify = {
      webhooks: [{ url: good.url('/in/abcdef123'), secret_file: join(tmp.dir, 'secret') }],
      smtp: { host: '127.0.0.1', port: smtp.port, starttls: false, user: 'ops', password_file: join(tmp.dir, 'pass'), from: 'edgejail@example.test', to: 'ops@example.test' },
    };
    const lines: string[] = [];
    const errors: string[] = [];
    const io = (config: ReturnType<typeof testConfig>) => ({ config, out: (l: string) => void lines.push(l), fail: (m: string) => (errors.push(m), 1) });

    assert.equal(await runNotifyCommand(['test'], io(testConfig(tmp.dir, { notify }))), 0, errors.join('\n'));
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]).sort(), ['ok', 'ok']);
    assert.ok(lines.every((l) => !l.includes('abcdef123')), 'the hook URL is shown by host only');
    const request = good.requests[0]!;
    assert.equal(JSON.parse(request.body).type, 'edgejail.test');
    const ts = request.headers['x-edgejail-timestamp'] as string;
    assert.equal(request.headers['x-edgejail-signature'], `sha256=${createHmac('sha256', 'cli-hook-secret').update(`${ts}.${request.body}`).digest('hex')}`);
    assert.match(smtp.mails[0]!.subject, /^EdgeJail test message/);
    assert.deepEqual(smtp.mails[0]!.to, ['ops@example.test']);

    lines.length = 0;
    const withGone = { ...notify, webhooks: [...notify.webhooks, { url: gone.url('/hooks/T1/secretpath'), format: 'slack' }] };
    assert.equal(await runNotifyCommand(['test'], io(testConfig(tmp.dir, { notify: withGone }))), 1);
    const failed = lines.find((l) => l.startsWith('FAILED'))!;
    assert.match(failed, /^FAILED {2}webhook#2 \(slack\) http:\/\/127\.0\.0\.1:\d+\/…: HTTP 410/);
    assert.ok(!failed.includes('secretpath'));
    assert.match(errors.at(-1)!, /^1 of 3 channels failed/);

    const db = openDatabase(databasePath(testConfig(tmp.dir)));
    const rows = db.prepare("SELECT actor, action FROM audit_log WHERE action LIKE 'notify%'").all() as Array<{ actor: string; action: string }>;
    db.close();
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => r.actor === 'admin:cli'));
    assert.equal(rows.filter((r) => r.action === 'notify_failed').length, 1);

    errors.length = 0;
    assert.equal(await runNotifyCommand(['test'], io(testConfig(tmp.dir))), 1);
    assert.match(errors[0]!, /no notification channel is configured/);
    assert.equal(await runNotifyCommand(['test'], io(testConfig(tmp.dir, { notify: { webhooks: [{ url: good.url(), secret_file: join(tmp.dir, 'missing') }] } }))), 1);
    assert.match(errors.at(-1)!, /^notify\.webhooks\[0\]\.secret_file: .*missing cannot be read: ENOENT/);
  } finally {
    await good.close();
    await gone.close();
    await smtp.close();
    tmp.cleanup();
  }
});

test('with starttls on, a relay that does not offer STARTTLS gets no mail in clear: the channel fails, the password is not sent', async () => {
  const tmp = tempDir();
  const smtp = await startSmtpSink({ user: 'ops', pass: 'relay-pass-1234' }); // offers no STARTTLS
  try {
    writeFileSync(join(tmp.dir, 'pass'), 'relay-pass-1234');
    const notify = { smtp: { host: '127.0.0.1', port: smtp.port, starttls: true, user: 'ops', password_file: join(tmp.dir, 'pass'), from: 'edgejail@example.test', to: ['ops@example.test'] } };
    const lines: string[] = [];
    const code = await runNotifyCommand(['test'], { config: testConfig(tmp.dir, { notify }), out: (l) => void lines.push(l), fail: () => 1 });
    assert.equal(code, 1);
    assert.match(lines[0]!, /^FAILED {2}smtp 127\.0\.0\.1:\d+ to ops@example\.test: .*STARTTLS.* \(1 attempt\)$/);
    assert.equal(smtp.mails.length, 0);
    assert.ok(!lines[0]!.includes('relay-pass-1234'));
  } finally {
    await smtp.close();
    tmp.cleanup();
  }
});
