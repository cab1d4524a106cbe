// The webhook's batches are validated by a walk over the zod schema that allocates nothing
// (server/contract/compiled-parse.ts). It may only ever say less than zod: every input
// here, valid or one field off, must get zod's verdict, and a valid one zod's data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { eventBatchSchema, LIMITS, MAX_EVENT_WEIGHT, MAX_EVENTS_PER_BATCH } from '../../server/contract/events.ts';
import { compileSafeParse, fastSafeParse } from '../../server/contract/compiled-parse.ts';

const fast = compileSafeParse(eventBatchSchema);

const ISO = '2026-03-01T12:00:00.000Z';
const UUID = '01890a5d-ac96-774b-bcce-b302099a8057';
const attempt = (extra: Record<string, unknown> = {}) => ({ id: UUID, type: 'login_failed', ip: '198.51.100.7', occurred_at: ISO, ...extra });
const full = attempt({ username: 'admin', user_agent: 'curl/8', path: '/wp-login.php', error_code: 'incorrect_password', weight: 3, site_url: 'https://blog.example/' });
const hello = { id: UUID, type: 'hello', occurred_at: ISO, site_url: 'https://example.org', plugin_version: '1.2.0', wp_version: '6.8', php_version: '8.3' };
const unlock = { id: UUID, type: 'self_unlock', ip: '2001:db8::1', occurred_at: '2026-03-01T13:00:00+01:00', username: 'ann', site_url: null };

/** Values a field may be given: of every JSON type, at and past the limits zod checks. */
function variants(limit = 64): unknown[] {
  const emoji = '\u{1F600}';
  return [
    null, 0, 1, -1, 1.5, 2 ** 53, true, false, '', ' ', 'x', {}, [], ['x'], { a: 1 },
    'a'.repeat(limit), 'a'.repeat(limit + 1), emoji.repeat(limit), emoji.repeat(limit + 1), `${'a'.repeat(limit - 1)}${emoji}`,
    UUID, UUID.toUpperCase(), '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '01890a5d-ac96-074b-bcce-b302099a8057', `${UUID}0`,
    ISO, '2026-03-01T12:00:00Z', '2026-03-01T12:00:00+02:00', '2026-03-01T12:00:00', '2026-03-01', '2999-01-01T00:00:00Z', '2026-02-30T12:00:00Z',
    '198.51.100.7', '::ffff:198.51.100.7', '[2001:db8::1]', 'fe80::1%eth0', '010.1.1.1', '256.1.1.1', '2001:db8::/64',
    'https://blog.example/', 'http://x', 'ftp://x', 'https://user:pw@x/', 'not a url',
    'login_failed', 'hello', 'self_unlock', 'pingback', 'LOGIN_FAILED',
    MAX_EVENT_WEIGHT, MAX_EVENT_WEIGHT + 1, '1',
  ];
}

/** Each event with each of its fields (and one it does not have) deleted or set to each variant. */
function* mutatedEvents(): Generator<unknown> {
  for (const base of [attempt(), full, hello, unlock]) {
    yield base;
    for (const key of [...Object.keys(full), ...Object.keys(hello), ...Object.keys(unlock), 'extra']) {
      const { [key]: _dropped, ...without } = base as Record<string, unknown>;
      yield without;
      const limit = (LIMITS as Record<string, number>)[key] ?? 64;
      for (const value of variants(limit)) yield { ...base, [key]: value };
    }
  }
}

function* batches(): Generator<unknown> {
  for (const event of mutatedEvents()) yield { events: [attempt(), event] };
  yield { events: [] };
  yield { events: [], unban_cursor: 0 };
  for (const cursor of variants()) yield { events: [attempt()], unban_cursor: cursor };
  yield { events: Array.from({ length: MAX_EVENTS_PER_BATCH }, () => attempt()) };
  yield { events: Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, () => attempt()) };
  yield { events: [attempt()], extra: 1 };
  for (const v of variants()) yield { events: v };
  for (const v of variants()) yield v;
  yield JSON.parse('{"events":[],"unban_cursor":1,"__proto__":{"x":1}}');
}

/** Keys in order and absent as undefined alike: the walk returns the input, zod a copy. */
const canonical = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)])) : v;

test('the batch schema compiles', () => {
  assert.ok(fast, 'compileSafeParse(eventBatchSchema) gave null: every batch would go through zod’s allocating parse');
});

test('every batch gets zod’s verdict, and a valid one zod’s data', () => {
  let valid = 0;
  let invalid = 0;
  for (const input of batches()) {
    const expected = eventBatchSchema.safeParse(structuredClone(input));
    const actual = fast!(structuredClone(input));
    assert.equal(actual.success, expected.success, `verdict differs for ${JSON.stringify(input).slice(0, 300)}`);
    if (expected.success) {
      assert.deepEqual(canonical(actual.data), canonical(expected.data), `data differs for ${JSON.stringify(input).slice(0, 300)}`);
      valid++;
    } else {
      assert.equal(actual.error?.issues.length, expected.error.issues.length);
      invalid++;
    }
  }
  // Both sides exercised: a walk that said "not sure" to everything would pass the loop above.
  assert.ok(valid > 100 && invalid > 500, `${valid} valid, ${invalid} invalid`);
});

test('a valid batch is answered by the walk, not by zod', () => {
  const batch = { events: [attempt(), full, hello, unlock] };
  const original = eventBatchSchema.safeParse;
  let calls = 0;
  eventBatchSchema.safeParse = ((input: unknown) => {
    calls++;
    return original.call(eventBatchSchema, input);
  }) as typeof original;
  try {
    const result = fast!(batch);
    assert.equal(result.success, true);
    assert.equal(result.success && result.data, batch, 'the input itself is the parsed value');
    assert.equal((batch.events[0] as { weight?: number }).weight, 1, 'the default is written into it');
    assert.equal(calls, 0);
    assert.equal(fast!({ events: [{ ...full, weight: 0 }] }).success, false);
    assert.equal(calls, 1, 'an invalid one goes to zod for its message');
  } finally {
    eventBatchSchema.safeParse = original;
  }
});

test('a schema with a part the walk does not know is left to zod', () => {
  assert.equal(compileSafeParse(z.object({ a: z.string() })), null, 'a stripping object: zod drops unknown keys');
  assert.equal(compileSafeParse(z.strictObject({ a: z.string().transform((s) => s.length) })), null);
  assert.equal(compileSafeParse(z.strictObject({ a: z.union([z.string(), z.number()]) })), null);
  assert.equal(compileSafeParse(z.strictObject({ a: z.array(z.string()).default([]) })), null);
  const parse = fastSafeParse(z.object({ a: z.string() }));
  assert.deepEqual(parse({ a: 'x', b: 1 }), { success: true, data: { a: 'x' } });
});

test('rewrites by zod’s own checks land in the value returned', () => {
  const schema = z.strictObject({ name: z.string().trim().toLowerCase().max(3), tags: z.array(z.string().trim()) });
  const parse = compileSafeParse(schema)!;
  assert.deepEqual(parse({ name: '  ABC ', tags: [' a '] }), { success: true, data: { name: 'abc', tags: ['a'] } });
  assert.equal(parse({ name: ' ABCD ', tags: [] }).success, false);
});
