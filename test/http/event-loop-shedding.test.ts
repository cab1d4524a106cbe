// Shedding on event-loop delay measures the delay, and only the delay: a loop blocked past
// the limit sheds with 503, and a loop blocked for a whole sample interval under a generous
// limit does not (under-pressure read that empty interval as an infinite delay and shed every
// request for the next second; on a loaded host a cold start did it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startService } from '../support/service.ts';

const block = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* the loop is held, as a long synchronous task holds it */
  }
};
const status = (svc: Awaited<ReturnType<typeof startService>>) =>
  svc.app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: 'Bearer wrong-token-but-long-enough-0123456789' } });

test('a loop blocked past max_event_loop_delay_ms sheds with 503 and Retry-After, then recovers', async () => {
  const svc = await startService({ overload: { max_queue_delay_ms: 30_000, max_event_loop_delay_ms: 50 } });
  try {
    let shed = null;
    // The sampler reads once a second: block again until a reading falls on a blocked stretch.
    for (let i = 0; i < 20 && !shed; i++) {
      block(400);
      await new Promise((r) => setTimeout(r, 5));
      const res = await status(svc);
      if (res.statusCode === 503) shed = res;
    }
    assert.ok(shed, 'shed after the loop was held');
    assert.match(shed.body, /eventLoopDelay/);
    assert.equal(shed.headers['retry-after'], String(svc.config.overload.retry_after_seconds));
    // Left alone, the loop's delay falls under the limit again.
    for (let i = 0; i < 100 && (await status(svc)).statusCode === 503; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await status(svc)).statusCode, 401);
  } finally {
    await svc.close();
  }
});

test('a loop blocked for whole sample intervals under a generous limit sheds nothing', async () => {
  const svc = await startService({ overload: { max_queue_delay_ms: 30_000, max_event_loop_delay_ms: 30_000 } });
  try {
    const answers: number[] = [];
    for (let i = 0; i < 4; i++) {
      block(1_500);
      for (let k = 0; k < 20; k++) {
        answers.push((await status(svc)).statusCode);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    assert.deepEqual([...new Set(answers)], [401], `answers: ${answers.join(' ')}`);
  } finally {
    await svc.close();
  }
});
