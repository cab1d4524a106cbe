#!/usr/bin/env bash
# Installs Debian's fail2ban (and curl, which the edgejail action uses) when missing, for the
# fail2ban tests. Needs root on Debian 12. Never starts the system's fail2ban: the tests run a
# private fail2ban-server with its own socket, pid file and database in a temp dir.
set -euo pipefail
PACKAGES=(fail2ban curl)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
log="$(mktemp -t edgejail-fail2ban-apt.XXXXXX.log)"
echo "[fail2ban-deps] installing ${missing[*]} (log: $log)" >&2
export DEBIAN_FRONTEND=noninteractive
# Debian's maintainer scripts must not start a system-wide fail2ban.
policy=/usr/sbin/policy-rc.d created_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  apt-get update >>"$log" 2>&1
  apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 || {
    echo "[fail2ban-deps] apt-get failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi
