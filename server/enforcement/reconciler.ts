// The one reconciler, for every placement (list items, access rules, ranges, the login
// shield): reads every tagged object each placement holds at Cloudflare, hands each key to
// the placement that judges its kind against what is wanted, and deletes the orphans the
// judgements name. Keys the worker is busy with are left to it. It never touches an object
// without our tag, and each repair is an audit_log row.
import { CloudflareCallError } from '../cloudflare/api.ts';
import type { EnforcementStore } from '../store/enforcement.ts';
import {
  emptyReport, iso,
  type Found, type PlacedObject, type Placement, type ReconcileContext, type ReconcileReport, type ReconcileRun, type RepairKind, type ShieldReconcileReport,
} from './types.ts';

interface Tally {
  seen: number;
  orphansRemoved: number;
  missingReapplied: number;
  idsRepaired: number;
  foreignGone: number;
  outdatedQueued: number;
  skippedBusy: number;
  errors: string[];
}

const emptyTally = (): Tally => ({ seen: 0, orphansRemoved: 0, missingReapplied: 0, idsRepaired: 0, foreignGone: 0, outdatedQueued: 0, skippedBusy: 0, errors: [] });
const COUNTER: Record<RepairKind, keyof Omit<Tally, 'errors'>> = {
  id_repaired: 'idsRepaired', missing_reapplied: 'missingReapplied', foreign_rule_gone: 'foreignGone', outdated_queued: 'outdatedQueued',
};
// The login shield's figures are reported beside the bans', as the CLI and status show them.
const SHIELD = 'login_shield';

export async function reconcilePlacements(
  deps: { store: EnforcementStore; now: () => number; shieldZones?: () => number },
  placements: Placement[],
  context: ReconcileContext,
  reportName: string,
): Promise<ReconcileReport> {
  const { store, now } = deps;
  const nowIso = () => iso(now());
  const report = emptyReport(reportName, nowIso());
  // Figures per kind of key: the bans' placements share one, the shield has its own.
  const tallies = new Map<string, Tally>();
  const tallyOf = (placement: Placement) => {
    const kind = placement.name === SHIELD ? SHIELD : 'bans';
    if (!tallies.has(kind)) tallies.set(kind, emptyTally());
    return tallies.get(kind)!;
  };
  const byKey = new Map<string, Found[]>();
  const unread = new Set<string>();
  for (const placement of placements) {
    tallyOf(placement);
    try {
      for (const object of await placement.readPlaced()) {
        byKey.set(object.key, [...(byKey.get(object.key) ?? []), { placement, object }]);
        tallyOf(placement).seen++;
      }
    } catch (error) {
      // A placement we could not read proves nothing about its keys: its judge leaves those alone.
      unread.add(placement.name);
      tallyOf(placement).errors.push(`${placement.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  const orphans = new Map<Placement, PlacedObject[]>();
  let judging: Placement | null = null;
  const run: ReconcileRun = {
    placements,
    unread,
    sink: {
      orphan: (found) => orphans.set(found.placement, [...(orphans.get(found.placement) ?? []), found.object]),
      repaired(kind, key, banId, placement, detail) {
        tallyOf(placement)[COUNTER[kind]]++;
        store.auditSystem(nowIso(), 'reconcile_repair', key, banId, { backend: placement.backend, scope: placement.scopeLabel, repair: kind, ...detail });
      },
      error: (text) => tallyOf(judging ?? placements[0]!).errors.push(text),
    },
  };

  const releases: Array<() => void> = [];
  const claim = (key: string): boolean => {
    const row = store.enforcementOf(key);
    if ((row?.rev ?? 0) !== (context.revisions.get(key) ?? 0) || store.outboxRow(key)) return false;
    const release = context.locks.tryLock(key);
    if (release) releases.push(release);
    return release !== null;
  };

  try {
    const keys = new Set(byKey.keys());
    // Placements that share one judgement (list and its overflow) share its list of keys: read it once.
    for (const list of new Set(placements.map((p) => p.reconcileKeys))) for (const key of list()) keys.add(key);
    // A kind whose judgement hit a Cloudflare error (a 429 storm) stops for this run; the other goes on.
    const halted = new Set<Tally>();
    for (const key of keys) {
      const judge = placements.find((p) => p.handles(key));
      if (!judge || halted.has(tallyOf(judge))) continue;
      if (!claim(key)) {
        tallyOf(judge).skippedBusy++;
        continue;
      }
      judging = judge;
      try {
        await judge.judge(key, byKey.get(key) ?? [], run);
      } catch (error) {
        // The shield's trouble must not stop the bans' reconcile, nor the other way round.
        if (!(error instanceof CloudflareCallError)) throw error;
        tallyOf(judge).errors.push(error.message);
        halted.add(tallyOf(judge));
      } finally {
        judging = null;
      }
    }
    for (const [placement, objects] of orphans) {
      let removed: PlacedObject[];
      try {
        removed = await placement.removePlaced(objects);
      } catch (error) {
        if (!(error instanceof CloudflareCallError)) throw error;
        tallyOf(placement).errors.push(`${placement.name}: ${error.message}`);
        continue;
      }
      store.transaction(() => {
        for (const object of removed) {
          tallyOf(placement).orphansRemoved++;
          store.auditSystem(nowIso(), 'reconcile_repair', object.key, store.latestBanId(object.key), {
            backend: placement.backend, scope: placement.scopeLabel, repair: 'orphan_removed', ...placement.describe(object),
          });
          placement.orphanRemoved(object, run);
        }
      });
    }
  } finally {
    releases.forEach((release) => release());
  }
  for (const placement of placements) {
    if (!placement.checkSetup) continue;
    try {
      report.blockRule = await placement.checkSetup();
    } catch (error) {
      report.errors.push(`${placement.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  const bans = tallies.get('bans');
  if (bans) {
    const { outdatedQueued: _notCounted, errors, ...counts } = bans;
    Object.assign(report, counts);
    report.errors.push(...errors);
  }
  const shield = tallies.get(SHIELD);
  if (shield) {
    const { foreignGone: _none, ...counts } = shield;
    report.shield = { ...counts, zones: deps.shieldZones?.() ?? 0 } satisfies ShieldReconcileReport;
    report.errors.push(...shield.errors.map((e) => `login shield: ${e}`));
  }
  return report;
}
