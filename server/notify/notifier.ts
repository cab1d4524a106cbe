// The notifier: a small ticker that takes a snapshot, lets the pure conditions say what
// is active, and files the changes and new bans into each channel's digest; a digest
// leaves at most once per min_interval per channel, through that channel's own queue.
// Every message's fate (sent, failed, dropped) is an audit row.
import { randomUUID } from 'node:crypto';
import type { NotifyConfig } from '../config/notify.ts';
import type { AuditEntry } from '../store/store.ts';
import { detectConditions, SITE_SILENT_AFTER_MS, type ConditionSettings } from './conditions.ts';
import { conditionStateFromSent, emptyConditionState, evaluateConditions, type ConditionState, type SentItems } from './evaluator.ts';
import { addBans, addChange, emptyDigest, takeDueDigest, type PendingDigest } from './digest.ts';
import { messageTitle, type NotifyMessage } from './message.ts';
import { createShedWindow } from './shed-window.ts';
import { createDeliveryQueue, DEFAULT_QUEUE_LIMIT, DEFAULT_RETRY, type DeliveryOutcome, type DeliveryQueue, type RetryPolicy } from './delivery.ts';
import { scrub, type Channel } from './channels/channel.ts';
import type { EnforcementHealth, NewBansSnapshot, ShieldSnapshot, SiteSnapshot } from './snapshot.ts';

export const NOTIFY_TICK_MS = 5_000;
/** Shedding counts as going on while any request was shed this recently. */
export const SHED_WINDOW_MS = 5 * 60_000;
const STOP_GRACE_MS = 3_000;

export interface NotifierSources {
  shields(nowMs: number): ShieldSnapshot[];
  sites(): SiteSnapshot[];
  enforcement(): EnforcementHealth;
  /** Bans created since the previous call (the first call only sets the cursor). */
  newBans(): NewBansSnapshot;
  /** Messages sent before this start, oldest first (the audit log), to pick up what was told. */
  sentBefore(nowMs: number): SentItems[];
}

interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface NotifierDeps {
  config: NotifyConfig;
  channels: Channel[];
  sources: NotifierSources;
  audit: (entry: AuditEntry) => void;
  logger: Logger;
  now: () => number;
  retry?: RetryPolicy;
  queueLimit?: number;
}

export function createNotifier(deps: NotifierDeps) {
  const { config, channels, sources, logger, now } = deps;
  const settings: ConditionSettings = { enforcementFailingAfterMs: config.enforcement_failing_after * 1000, siteSilentAfterMs: SITE_SILENT_AFTER_MS };
  const shed = createShedWindow(SHED_WINDOW_MS);
  const waiting = new Map<string, { left: number; outcomes: DeliveryOutcome[]; resolve: (o: DeliveryOutcome[]) => void }>();
  let conditions: ConditionState = emptyConditionState();
  let timer: NodeJS.Timeout | null = null;
  let wakeQueued = false;
  let started = false;

  function record(outcome: DeliveryOutcome): void {
    const { channel, message } = outcome;
    try {
      deps.audit({
        at: new Date(now()).toISOString(),
        actor: 'notify',
        action: `notify_${outcome.status}`,
        detail: {
          channel: channel.name,
          channel_kind: channel.kind,
          message_id: message.id,
          type: message.type,
          title: scrub(messageTitle(message), channel.redactions),
          items: message.items.map((i) => ({ kind: i.kind, site_id: i.siteId, site_name: i.siteName, status: i.status, count: i.count, summary: scrub(i.summary, channel.redactions).slice(0, 300) })),
          attempts: outcome.attempts,
          ...(outcome.error ? { error: outcome.error } : {}),
        },
      });
    } catch (error) {
      logger.error({ err: String(error), channel: channel.name }, 'could not write the audit row of a notification');
    }
    if (outcome.status === 'sent') logger.info({ channel: channel.name, message: message.id, attempts: outcome.attempts }, 'notification sent');
    const wait = waiting.get(message.id);
    if (wait) {
      wait.outcomes.push(outcome);
      if (--wait.left === 0) {
        waiting.delete(message.id);
        wait.resolve(wait.outcomes);
      }
    }
  }

  const queueOptions = { retry: deps.retry ?? DEFAULT_RETRY, limit: deps.queueLimit ?? DEFAULT_QUEUE_LIMIT, logger, onOutcome: record };
  const lanes: Array<{ queue: DeliveryQueue; digest: PendingDigest }> = channels.map((channel) => ({ queue: createDeliveryQueue(channel, queueOptions), digest: emptyDigest() }));

  /** One evaluation: snapshot, conditions, digests; sends what is due. Never throws. */
  function tick(): void {
    if (!lanes.length) return;
    try {
      const nowMs = now();
      const snapshot = { shields: sources.shields(nowMs), sites: sources.sites(), enforcement: sources.enforcement(), shed: shed.snapshot(nowMs) };
      const evaluated = evaluateConditions(conditions, detectConditions(snapshot, nowMs, settings), nowMs);
      conditions = evaluated.state;
      const bans = sources.newBans();
      for (const lane of lanes) {
        for (const change of evaluated.changes) addChange(lane.digest, change);
        addBans(lane.digest, bans, nowMs);
        const items = takeDueDigest(lane.digest, nowMs, config.min_interval * 1000);
        if (items) lane.queue.enqueue({ id: randomUUID(), type: 'digest', createdAtMs: nowMs, items });
      }
    } catch (error) {
      logger.error({ err: String(error) }, 'notification tick failed; it runs again on the next tick');
    }
  }

  return {
    channelNames: () => channels.map((c) => c.name),
    tick,
    /** From the overload hooks: one shed request. */
    recordShed: (reason: string) => shed.record(reason, now()),
    /** Something changed (a shield went up or down): evaluate soon rather than at the next tick. */
    wake(): void {
      if (!started || wakeQueued) return;
      wakeQueued = true;
      setImmediate(() => {
        wakeQueued = false;
        tick();
      });
    },
    /** Starts the timer; the first tick only notes where the bans table stands. */
    start(options: { timer?: boolean } = {}): void {
      if (!lanes.length || started) return;
      started = true;
      sources.newBans();
      try {
        conditions = conditionStateFromSent(sources.sentBefore(now()));
      } catch (error) {
        logger.warn({ err: String(error) }, 'could not read which alerts were sent before; conditions still true are told again');
      }
      logger.info({ channels: channels.map((c) => c.name), min_interval_s: config.min_interval }, 'notifications on');
      if (options.timer ?? true) {
        timer = setInterval(tick, NOTIFY_TICK_MS);
        timer.unref();
      }
    },
    /** A test message on every channel; resolves with each channel's outcome. */
    sendTest(): Promise<DeliveryOutcome[]> {
      if (!lanes.length) return Promise.resolve([]);
      const nowMs = now();
      const message: NotifyMessage = {
        id: randomUUID(),
        type: 'test',
        createdAtMs: nowMs,
        items: [{ kind: 'test', siteId: null, siteName: null, status: 'info', summary: 'test message from EdgeJail: this channel works', firstAtMs: nowMs, lastAtMs: nowMs, count: 1, detail: {} }],
      };
      return new Promise((resolve) => {
        waiting.set(message.id, { left: lanes.length, outcomes: [], resolve });
        for (const lane of lanes) lane.queue.enqueue(message);
      });
    },
    /** Resolves once every channel's queue is empty (tests, and the CLI before it exits). */
    idle: () => Promise.all(lanes.map((l) => l.queue.idle())).then(() => undefined),
    pending: () => lanes.reduce((sum, l) => sum + l.queue.pending(), 0),
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      started = false;
      await Promise.all(lanes.map((l) => l.queue.stop(STOP_GRACE_MS)));
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
