// A distributed password-guessing attack, as the shield's e2e test and its bench send it:
// every bot address tries a few wrong passwords on wp-login.php through the edge, round by
// round (each bot's first try, then each one's second...), the usernames rotating, a fixed
// number of requests in flight. Each attempt's start and answer are kept for the caller.
import { postLogin, type Answer } from './wordpress-client.ts';

export interface LoginAttack {
  /** The edge the bots talk to. */
  edgeUrl: string;
  bots: readonly string[];
  triesPerBot: number;
  concurrency: number;
  usernames: readonly string[];
}

export interface AttackAttempt {
  ip: string;
  attempt: number;
  username: string;
  /** Epoch ms when the request left. */
  startedAt: number;
  answer: Answer;
}

export async function runLoginAttack(attack: LoginAttack): Promise<AttackAttempt[]> {
  const jobs: Array<{ ip: string; attempt: number; username: string }> = [];
  for (let attempt = 1; attempt <= attack.triesPerBot; attempt++) {
    attack.bots.forEach((ip, i) => jobs.push({ ip, attempt, username: attack.usernames[(i + attempt) % attack.usernames.length]! }));
  }
  const sent: AttackAttempt[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: attack.concurrency }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const startedAt = Date.now();
      const answer = await postLogin(attack.edgeUrl, job.ip, job.username, `wrong-${job.attempt}-${job.ip}`);
      sent.push({ ...job, startedAt, answer });
    }
  }));
  return sent;
}

/** Notes when `seen()` first holds, checking every `intervalMs`, until stopped: e.g. the shield's rule at the fake. */
export function watchFirst(seen: () => boolean, intervalMs = 20): { at(): number | null; stop(): void } {
  let at: number | null = null;
  const timer = setInterval(() => {
    if (at === null && seen()) at = Date.now();
  }, intervalMs);
  return { at: () => at, stop: () => clearInterval(timer) };
}
