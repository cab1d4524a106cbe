#!/usr/bin/env bash
# Sends signed failed-login events to EdgeJail, exactly as the WordPress plugin does.
#   EDGEJAIL_SECRET=… scripts/send-event.sh <site id> <ip> [count] [type] [username]
# The site's secret comes from $EDGEJAIL_SECRET, or from the first line of stdin when it
# is unset; never from the command line, where `ps` and the shell history would show it.
# EDGEJAIL_URL defaults to http://127.0.0.1:8787.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 5 ]; then
  echo "usage: EDGEJAIL_SECRET=<secret> $0 <site id> <ip> [count] [type] [username]" >&2
  echo "       (or the secret on stdin: $0 <site id> <ip> < secret-file)" >&2
  exit 2
fi
site=$1; ip=$2
count=${3:-1}; type=${4:-login_failed}; user=${5:-admin}
url=${EDGEJAIL_URL:-http://127.0.0.1:8787}
if [ -z "${EDGEJAIL_SECRET:-}" ]; then
  [ -t 0 ] && printf 'secret for site %s: ' "$site" >&2
  IFS= read -rs EDGEJAIL_SECRET || true
  [ -t 0 ] && echo >&2
fi
[ -n "${EDGEJAIL_SECRET:-}" ] || { echo "$0: no secret: set EDGEJAIL_SECRET or pass it on stdin" >&2; exit 2; }
export EDGEJAIL_SECRET

events=""
for _ in $(seq "$count"); do
  id=$(cat /proc/sys/kernel/random/uuid)
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  events+="${events:+,}{\"id\":\"$id\",\"type\":\"$type\",\"ip\":\"$ip\",\"occurred_at\":\"$now\",\"username\":\"$user\",\"path\":\"/wp-login.php\",\"weight\":1}"
done
body="{\"events\":[$events]}"
ts=$(date +%s)
# HMAC in node, the key from the environment: `openssl dgst -hmac <key>` would put it in argv.
sig=$(printf '%s.%s' "$ts" "$body" | node -e '
  const { createHmac } = require("node:crypto");
  process.stdout.write(createHmac("sha256", process.env.EDGEJAIL_SECRET).update(require("node:fs").readFileSync(0)).digest("hex"));
')

curl -sS -X POST "$url/v1/events" \
  -H 'Content-Type: application/json' \
  -H "X-EdgeJail-Site: $site" \
  -H "X-EdgeJail-Timestamp: $ts" \
  -H "X-EdgeJail-Signature: sha256=$sig" \
  --data-binary "$body"
echo
