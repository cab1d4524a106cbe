// Enforcement with no API token: every decision is followed exactly as it would be, and
// the calls it would make are written to cloudflare_actions as 'dry_run'. No client exists
// in this mode, so no request can leave; every ban is held at the origin only.
import { formatTag } from '../../cloudflare/tag.ts';
import { cloudflareTargetFor, UnsupportedIpKeyError } from '../../cloudflare/target.ts';
import type { EnforcementRow } from '../../store/enforcement.ts';
import { ipReconcileParts } from '../ip-reconcile.ts';
import { iso, type KeyOutcome, type IpPlacement, type PlacementDeps, type PlaceRequest } from '../types.ts';

export function createDryRunPlacement(deps: PlacementDeps): IpPlacement {
  const { store, rows, config, now } = deps;
  const where = config.backend === 'list' ? `list ${config.list_name}` : `${config.scope} scope`;
  const ops = config.backend === 'list'
    ? { create: 'add_list_items', update: 'add_list_items', remove: 'delete_list_items' }
    : { create: 'create_rule', update: 'update_rule', remove: 'delete_rule' };
  const record = (ipKey: string, operation: string, target: string, banId: number | null) =>
    store.recordAction({ at: iso(now()), ip_key: ipKey, ban_id: banId, operation, target, outcome: 'dry_run' });

  function placeOne({ ipKey, desired, row }: PlaceRequest): KeyOutcome {
    let target;
    try {
      target = cloudflareTargetFor(ipKey);
    } catch (error) {
      if (!(error instanceof UnsupportedIpKeyError)) throw error;
      rows.unenforceable(ipKey, error.message);
      return { ipKey, error, permanent: true };
    }
    const notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
    if (row?.state === 'dry_run' && row.notes === notes) return { ipKey };
    const operation = row?.state === 'dry_run' ? ops.update : ops.create;
    const mode = config.backend === 'list' ? null : config.mode;
    store.transaction(() => {
      record(ipKey, operation, `${target.target} ${target.value} in ${where}${mode ? ` mode=${mode}` : ''} notes="${notes}"`, desired.ban_id);
      rows.dryRun(ipKey, { target: target.target, value: target.value, mode, notes, until: desired.until });
    });
    return { ipKey };
  }

  function liftOne(row: EnforcementRow): KeyOutcome {
    store.transaction(() => {
      if (row.state === 'dry_run') record(row.ip_key, ops.remove, `${row.target} ${row.value} in ${where}`, store.latestBanId(row.ip_key));
      rows.removed(row.ip_key);
    });
    return { ipKey: row.ip_key };
  }

  return {
    ...ipReconcileParts(deps.ipReconcile, 'dry_run'),
    describe: (object) => ({ id: object.id, notes: object.tag }),
    name: 'dry_run',
    backend: 'dry_run',
    scopeLabel: 'dry_run',
    batchSize: 500,
    concurrency: 1,
    capacity: () => null,
    place: async (requests) => requests.map(placeOne),
    lift: async (liftRows) => liftRows.map(liftOne),
    readPlaced: async () => [],
    removePlaced: async () => [],
    isCurrent: () => true,
    foreignStillThere: async () => false,
    activeFields: () => {
      throw new Error('dry-run places nothing to read back');
    },
  };
}
