// The lookups that run per event, per ban or at start-up must be index searches. SQLite
// picks plans without statistics, and once picked "active bans of this IP" by walking
// every active ban: a flood of 100,000 bans made each lookup a table walk. This pins the
// plans so an index change or a rewritten query cannot bring that back quietly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/store/db.ts';
import { createStore } from '../../server/store/store.ts';
import { createEnforcementStore } from '../../server/store/enforcement.ts';

const db = openDatabase(':memory:');
const store = createStore(db);
const enforcement = createEnforcementStore(db);

function planOf(sql: string): string {
  // Literals stand in for parameters: EXPLAIN needs every parameter bound.
  const bound = sql.replace(/\?|@\w+/g, "'x'");
  return (db.prepare(`EXPLAIN QUERY PLAN ${bound}`).all() as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
}

const HOT: Array<[string, string, RegExp]> = [
  ['activeBansForIpKey', store.sql.activeBansForIpKey, /SEARCH bans USING INDEX bans_ip_key_state \(ip_key=\? AND state=\?/],
  ['bansForIpKey', store.sql.bansForIpKey, /SEARCH bans USING INDEX bans_ip_key/],
  ['expiredActiveBans', store.sql.expiredActiveBans, /SEARCH bans USING INDEX bans_active \(state=\? AND expires_at<\?\)/],
  ['restorableBansOfIpKey', store.sql.restorableBansOfIpKey, /SEARCH bans USING INDEX bans_ip_key \(ip_key=\? AND created_at>\?\)/],
  ['activeBanIpKeysAfter', store.sql.activeBanIpKeysAfter, /SEARCH bans USING COVERING INDEX bans_ip_key_state \(ip_key>\?\)/],
  ['firstBanIdCreatedAfter', store.sql.firstBanIdCreatedAfter, /SEARCH bans USING COVERING INDEX bans_created \(created_at>\?\)/],
  ['banIpKeysCreatedAfterFrom', store.sql.banIpKeysCreatedAfterFrom, /SEARCH bans USING INTEGER PRIMARY KEY \(rowid>\?\)/],
  ['recentBans', store.sql.recentBans, /SCAN bans USING INDEX bans_created/],
  ['recentBanListing', store.sql.recentBanListing, /SCAN bans USING INDEX bans_created/],
  ['activeBanListing', store.sql.activeBanListing, /SEARCH bans USING INDEX bans_active \(state=\?\)/],
  ['blockedIpKeys', enforcement.sql.blockedIpKeys, /SEARCH bans USING INDEX bans_active \(state=\? AND expires_at>\?\)/],
  ['isBlocked', enforcement.sql.isBlocked, /SEARCH bans USING (COVERING )?INDEX bans_ip_key_state \(ip_key=\? AND state=\? AND expires_at>\?\)/],
  ['countedEventsSince', store.sql.countedEventsSince, /SEARCH events USING INDEX events_received \(received_at>\?\)/],
  ['activityHoursOfIpKey', store.sql.activityHoursOfIpKey, /SEARCH ip_activity USING (COVERING )?INDEX sqlite_autoindex_ip_activity_1 \(ip_key=\?\)/],
  ['eventsOfIpKeyInHour', store.sql.eventsOfIpKeyInHour, /SEARCH events USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/],
  ['siteReportedIpKeySince', store.sql.siteReportedIpKeySince, /SEARCH ip_activity USING (COVERING )?INDEX sqlite_autoindex_ip_activity_1 \(ip_key=\? AND hour>\?\)/],
  ['eventCountOfIpKey', store.sql.eventCountOfIpKey, /SEARCH ip_activity USING (COVERING )?INDEX sqlite_autoindex_ip_activity_1 \(ip_key=\?\)/],
  ['lastSeen', enforcement.sql.lastSeen, /SEARCH ip_activity USING (COVERING )?INDEX sqlite_autoindex_ip_activity_1 \(ip_key=\?\)/],
  ['auditForIpKey', store.sql.auditForIpKey, /SEARCH audit_log USING INDEX audit_log_ip_key \(ip_key=\?\)/],
  ['desiredFor', enforcement.sql.desiredFor, /SEARCH bans USING INDEX bans_ip_key_state \(ip_key=\? AND state=\? AND expires_at>\?\)/],
  ['latestBanId', enforcement.sql.latestBanId, /SEARCH bans USING (COVERING )?INDEX bans_ip_key/],
];

for (const [name, sql, expected] of HOT) {
  test(`${name} is an index search`, () => {
    const plan = planOf(sql);
    assert.match(plan, expected, plan);
    assert.doesNotMatch(plan, /SCAN (bans|events|audit_log|ip_activity)(?! USING INDEX bans_created)/, plan);
  });
}
