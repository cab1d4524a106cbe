#!/usr/bin/env bash
# Installs what the nginx proxy example's test needs from Debian: `nginx` and `openssl`
# (for a throw-away certificate). Does nothing when they are already there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "nginx-deps: need root to apt-get install ${missing[*]}" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
