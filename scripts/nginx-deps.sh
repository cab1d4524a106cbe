#!/usr/bin/env bash
# Installs what the nginx proxy example's test needs from Debian: `nginx` and `openssl`
# (for a throw-away certificate). Does nothing when they are already there.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0
exec "$(dirname "$0")/apt-install.sh" --tag nginx-deps "${missing[@]}"
