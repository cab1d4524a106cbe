#!/usr/bin/env bash
# Measures (never asserts) what the EdgeJail plugin adds to a failed wp-login.php POST,
# on the origin a real host runs (nginx + php-fpm, scripts/e2e-origin.sh) with the plugin
# inactive, active with the service up, and active with the service down (connection
# refused) or hanging (accepts, never answers). Prints p50/p90/p99 per scenario and the
# extra time against "plugin inactive".
#
#   bash scripts/wp-overhead.sh                    # all scenarios, 300 timed requests each
# The scenarios take turns (OVERHEAD_ROUNDS rounds, default 6) so that drift in the
# machine's load (other work on a 2-core box) spreads over all of them alike.
#   OVERHEAD_COUNT=1000 bash scripts/wp-overhead.sh
#   bash scripts/wp-overhead.sh --json             # one JSON object per scenario, nothing else on stdout
#
# "Service up" is the real service (server/main.ts) when it exists, else the plugin tests'
# stand-in (test/wp/support/capture-router.php). Requests come from 127.0.0.1, which the
# service never bans, so every request runs the whole failed-login path. Everything it
# starts lives under $OVERHEAD_DIR and is stopped on exit.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${OVERHEAD_DIR:=$REPO/.tmp/overhead}"
: "${OVERHEAD_COUNT:=300}"
: "${OVERHEAD_WARMUP:=5}"
: "${OVERHEAD_ROUNDS:=6}"
JSON=0
[ "${1:-}" = "--json" ] && JSON=1
export E2E_DIR="$OVERHEAD_DIR"
ORIGIN=(bash "$REPO/scripts/e2e-origin.sh")
PIDS=()

log() { printf '[wp-overhead] %s\n' "$*" >&2; }
free_port() { php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'; }
wait_port() { local i; for i in $(seq 1 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -f "${WP_ENV_DIR:-/nonexistent}/wp-config-extra.php"
  "${ORIGIN[@]}" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

mkdir -p "$OVERHEAD_DIR"
"${ORIGIN[@]}" setup >&2
eval "$("${ORIGIN[@]}" env | sed 's/^/export /')"
ORIGIN_PORT="$(free_port)"
"${ORIGIN[@]}" start 127.0.0.1 "$ORIGIN_PORT" >&2

# The service, up.
if [ -f "$REPO/server/main.ts" ]; then
  SERVICE_KIND="real service"
  SERVICE_PORT="$(free_port)"
  SERVICE_DATA="$OVERHEAD_DIR/service"
  rm -rf "$SERVICE_DATA"; mkdir -p "$SERVICE_DATA"
  export EDGEJAIL_DATA_DIR="$SERVICE_DATA" EDGEJAIL_PORT="$SERVICE_PORT" EDGEJAIL_LOG_LEVEL=warn \
    EDGEJAIL_ADMIN_TOKEN="overhead-admin-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
  (cd "$REPO" && exec node --import tsx server/main.ts) >"$SERVICE_DATA/service.log" 2>&1 &
  PIDS+=($!)
  wait_port "$SERVICE_PORT" || { log "the service did not start"; cat "$SERVICE_DATA/service.log" >&2; exit 1; }
  CREDS="$(cd "$REPO" && npx --no-install edgejail site add overhead --json)"
  SITE_ID="$(printf '%s' "$CREDS" | php -r 'echo json_decode(stream_get_contents(STDIN))->id;')"
  SECRET="$(printf '%s' "$CREDS" | php -r 'echo json_decode(stream_get_contents(STDIN))->secret;')"
else
  SERVICE_KIND="stand-in service (server/main.ts not present)"
  SERVICE_PORT="$(free_port)"
  SITE_ID=overhead-site SECRET=overhead-secret
  mkdir -p "$OVERHEAD_DIR/capture-up"; printf '%s' "$SECRET" >"$OVERHEAD_DIR/capture-up/secret"
  CAPTURE_DIR="$OVERHEAD_DIR/capture-up" php -S "127.0.0.1:$SERVICE_PORT" "$REPO/test/wp/support/capture-router.php" >/dev/null 2>&1 &
  PIDS+=($!)
  wait_port "$SERVICE_PORT"
fi

# A service that accepts connections and never answers (php -S serves one request at a time).
HANG_PORT="$(free_port)"
mkdir -p "$OVERHEAD_DIR/capture-hang"
printf '{"/v1/events":{"status":200,"delay_ms":600000}}' >"$OVERHEAD_DIR/capture-hang/responses.json"
CAPTURE_DIR="$OVERHEAD_DIR/capture-hang" php -S "127.0.0.1:$HANG_PORT" "$REPO/test/wp/support/capture-router.php" >/dev/null 2>&1 &
PIDS+=($!)
wait_port "$HANG_PORT"

# Nothing listens on this one: connection refused.
DOWN_PORT="$(free_port)"

wp_php() { WP_ENV_ROOT="$WP_ENV_ROOT" php "$@"; }

# Plugin configured by constants (as a host would), fresh delivery state, spool empty.
configure() {
  cat >"$WP_ENV_DIR/wp-config-extra.php" <<PHP
<?php
define( 'EDGEJAIL_URL', '$1' );
define( 'EDGEJAIL_SITE_ID', '$SITE_ID' );
define( 'EDGEJAIL_SECRET', '$SECRET' );
PHP
  wp_php -r '$_SERVER["HTTP_HOST"] = "127.0.0.1"; require getenv("WP_ENV_ROOT") . "/wp-load.php";
    if (class_exists("EdgeJail_Spool")) { global $wpdb; $wpdb->query("TRUNCATE TABLE " . EdgeJail_Spool::table()); }
    delete_option("edgejail_status");'
}

TIMES="$OVERHEAD_DIR/times"
rm -rf "$TIMES"; mkdir -p "$TIMES"
PER_ROUND=$(( (OVERHEAD_COUNT + OVERHEAD_ROUNDS - 1) / OVERHEAD_ROUNDS ))
scenario() {
  local file="$1" active="$2" url="$3"
  configure "$url"
  if [ "$active" = 1 ]; then wp_php "$REPO/scripts/wp-install.php" activate; else wp_php "$REPO/scripts/wp-install.php" deactivate; fi
  php "$REPO/scripts/wp-overhead-client.php" "http://127.0.0.1:$ORIGIN_PORT" "$PER_ROUND" "$OVERHEAD_WARMUP" "$TIMES/$file" >/dev/null
}

for round in $(seq 1 "$OVERHEAD_ROUNDS"); do
  log "round $round/$OVERHEAD_ROUNDS: $PER_ROUND timed failed logins per scenario"
  scenario 1-inactive 0 "http://127.0.0.1:$SERVICE_PORT"
  scenario 2-up 1 "http://127.0.0.1:$SERVICE_PORT"
  scenario 3-refused 1 "http://127.0.0.1:$DOWN_PORT"
  scenario 4-hanging 1 "http://127.0.0.1:$HANG_PORT"
done
wp_php "$REPO/scripts/wp-install.php" activate

RESULTS="$OVERHEAD_DIR/results.jsonl"
SERVICE_KIND="$SERVICE_KIND" php -r '
  $names = array("1-inactive" => "plugin inactive", "2-up" => "active, " . getenv("SERVICE_KIND") . " up",
    "3-refused" => "active, service down (refused)", "4-hanging" => "active, service hanging (timeout)");
  foreach ($names as $file => $name) {
    $t = array_map("floatval", file($argv[1] . "/" . $file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES));
    sort($t);
    $q = function ($p) use ($t) { return round($t[(int) min(count($t) - 1, floor($p * count($t)))], 2); };
    echo json_encode(array("scenario" => $name, "n" => count($t), "p50_ms" => $q(0.5), "p90_ms" => $q(0.9), "p99_ms" => $q(0.99), "mean_ms" => round(array_sum($t) / count($t), 2))), "\n";
  }' "$TIMES" >"$RESULTS"

if [ $JSON = 1 ]; then cat "$RESULTS"; exit 0; fi
OVERHEAD_ROUNDS="$OVERHEAD_ROUNDS" php -r '
  $rows = array_map(function ($l) { return json_decode($l, true); }, file($argv[1], FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES));
  $base = $rows[0];
  printf("%-42s %8s %8s %8s %12s %12s\n", "failed wp-login.php POST", "p50 ms", "p90 ms", "p99 ms", "extra p50", "extra p99");
  foreach ($rows as $r) {
    printf("%-42s %8.2f %8.2f %8.2f %+12.2f %+12.2f\n", $r["scenario"], $r["p50_ms"], $r["p90_ms"], $r["p99_ms"],
      $r["p50_ms"] - $base["p50_ms"], $r["p99_ms"] - $base["p99_ms"]);
  }
  printf("(n=%d each, scenarios interleaved over %s rounds; nginx + php-fpm x%s on loopback; sequential keep-alive client)\n", $base["n"], getenv("OVERHEAD_ROUNDS"), getenv("E2E_PHP_WORKERS") ?: "4");
' "$RESULTS"
