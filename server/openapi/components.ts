// Names of the payloads in components/schemas of the document. A route's schema that is
// named here is published once and referenced ($ref), instead of inlined at every use.
// The names go into zod's global registry, where `.meta()` keeps the descriptions the
// type provider reads; the schema objects are the very ones the routes parse with.
import { z } from 'zod';
import { allowlistEntrySchema, manualBanSchema } from '../contract/admin.ts';
import { eventBatchSchema } from '../contract/events.ts';
import * as R from '../contract/responses.ts';
import * as S from '../shield/contract.ts';

/**
 * Request bodies. The type provider publishes these from zod's input side (a duration may be
 * "1h" or 3600), under the name with `Input` appended: `ManualBan` is `ManualBanInput`.
 */
const REQUESTS: ReadonlyArray<[string, z.ZodType]> = [
  ['EventBatch', eventBatchSchema],
  ['ManualBan', manualBanSchema],
  ['AllowlistAdd', allowlistEntrySchema],
  ['ShieldUp', S.shieldUpSchema],
];

const RESPONSES: ReadonlyArray<[string, z.ZodType]> = [
  ['Error', R.errorResponseSchema],
  ['EventBatchResponse', R.eventBatchResponseSchema],
  ['CloudflareRanges', R.cloudflareRangesResponseSchema],
  ['CloudflareState', R.cloudflareStateSchema],
  ['Ban', R.banSchema],
  ['BanWithCloudflare', R.banWithCloudflareSchema],
  ['BanList', R.banListResponseSchema],
  ['ManualBanResponse', R.manualBanResponseSchema],
  ['UnbanResponse', R.unbanResponseSchema],
  ['StoredEvent', R.eventRecordSchema],
  ['AuditEntry', R.auditEntrySchema],
  ['CloudflareAction', R.cloudflareActionSchema],
  ['IpHistory', R.ipHistoryResponseSchema],
  ['AllowlistEntry', R.allowlistRuntimeEntrySchema],
  ['Allowlist', R.allowlistResponseSchema],
  ['AllowlistAdded', R.allowlistAddResponseSchema],
  ['AllowlistRemoved', R.allowlistRemoveResponseSchema],
  ['Site', R.siteSchema],
  ['SiteList', R.sitesResponseSchema],
  ['CloudflareStatus', R.cloudflareStatusSchema],
  ['Status', R.statusResponseSchema],
  ['Health', R.healthResponseSchema],
  ['ShieldStatus', S.shieldStatusResponseSchema],
  ['ShieldUpResponse', S.shieldUpResponseSchema],
  ['ShieldDownResponse', S.shieldDownResponseSchema],
];

let named = false;

/** Puts the names into the registry; once, however often the app is built. */
export function nameComponents(): void {
  if (named) return;
  named = true;
  for (const [id, schema] of [...REQUESTS, ...RESPONSES]) {
    // Merged: a schema made with .meta({ description }) keeps its description.
    z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), id });
  }
}
