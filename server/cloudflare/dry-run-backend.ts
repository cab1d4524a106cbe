// Enforcement with no API token: every decision is followed exactly as it would be,
// and the calls it would make are written to cloudflare_actions as 'dry_run'. No client
// exists in this mode, so no request can leave.
import { formatTag } from './tag.ts';
import { cloudflareTargetFor, UnsupportedIpKeyError } from './target.ts';
import { emptyReport, iso, writeEnforcement, type BackendDeps, type EnforcementBackend, type KeyOutcome } from './state.ts';

export function createDryRunBackend({ store, config, now }: BackendDeps): EnforcementBackend {
  const where = config.backend === 'list' ? `list ${config.list_name}` : `${config.scope} scope`;
  const ops = config.backend === 'list'
    ? { create: 'add_list_items', update: 'add_list_items', remove: 'delete_list_items' }
    : { create: 'create_rule', update: 'update_rule', remove: 'delete_rule' };

  function enforceOne(ipKey: string): KeyOutcome {
    const at = iso(now());
    const desired = store.desiredFor(ipKey, at);
    const row = store.enforcementOf(ipKey);
    const record = (operation: string, target: string, banId: number | null) =>
      store.recordAction({ at, ip_key: ipKey, ban_id: banId, operation, target, outcome: 'dry_run' });
    if (desired) {
      let target;
      try {
        target = cloudflareTargetFor(ipKey);
      } catch (error) {
        if (!(error instanceof UnsupportedIpKeyError)) throw error;
        writeEnforcement(store, ipKey, 'dry_run', at, { state: 'failed', last_error: error.message });
        return { ipKey, error, permanent: true };
      }
      const notes = formatTag({ ipKey, jails: desired.jails, until: desired.until });
      if (row?.state === 'dry_run' && row.notes === notes) return { ipKey };
      const operation = row?.state === 'dry_run' ? ops.update : ops.create;
      const mode = config.backend === 'list' ? '' : ` mode=${config.mode}`;
      store.transaction(() => {
        record(operation, `${target.target} ${target.value} in ${where}${mode} notes="${notes}"`, desired.ban_id);
        writeEnforcement(store, ipKey, 'dry_run', at, {
          scope: 'dry_run', state: 'dry_run', target: target.target, value: target.value, mode: config.backend === 'list' ? null : config.mode,
          notes, applied_until: desired.until, attempts: 0, last_error: null, applied_at: at,
        });
      });
      return { ipKey };
    }
    if (row && row.state === 'dry_run') {
      store.transaction(() => {
        record(ops.remove, `${row.target} ${row.value} in ${where}`, store.latestBanId(ipKey));
        writeEnforcement(store, ipKey, 'dry_run', at, { state: 'removed', attempts: 0, last_error: null });
      });
    }
    return { ipKey };
  }

  return {
    name: 'dry_run',
    scopeLabel: 'dry_run',
    batchSize: 500,
    concurrency: 1,
    enforce: async (ipKeys) => ipKeys.map(enforceOne),
    reconcile: async () => emptyReport('dry_run', iso(now())),
  };
}
