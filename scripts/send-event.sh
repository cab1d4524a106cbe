#!/usr/bin/env bash
# Sends signed failed-login events to EdgeJail, exactly as the WordPress plugin does.
#   scripts/send-event.sh <site id> <secret> <ip> [count] [type] [username]
# EDGEJAIL_URL defaults to http://127.0.0.1:8787.
set -euo pipefail
site=${1:?site id}; secret=${2:?secret}; ip=${3:?ip}
count=${4:-1}; type=${5:-login_failed}; user=${6:-admin}
url=${EDGEJAIL_URL:-http://127.0.0.1:8787}

events=""
for _ in $(seq "$count"); do
  id=$(cat /proc/sys/kernel/random/uuid)
  now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  events+="${events:+,}{\"id\":\"$id\",\"type\":\"$type\",\"ip\":\"$ip\",\"occurred_at\":\"$now\",\"username\":\"$user\",\"path\":\"/wp-login.php\",\"weight\":1}"
done
body="{\"events\":[$events]}"
ts=$(date +%s)
sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" -hex | sed 's/^.* //')

curl -sS -X POST "$url/v1/events" \
  -H 'Content-Type: application/json' \
  -H "X-EdgeJail-Site: $site" \
  -H "X-EdgeJail-Timestamp: $ts" \
  -H "X-EdgeJail-Signature: sha256=$sig" \
  --data-binary "$body"
echo
