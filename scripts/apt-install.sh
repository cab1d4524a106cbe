#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet; every
# script and bench section that needs a package comes through here. Usage:
#   scripts/apt-install.sh [--tag NAME] [--log FILE] PACKAGE...
# - The test tiers run files side by side, and two apt-gets at once fail on dpkg's lock, so
#   our installs queue on one flock, and apt itself waits (DPkg::Lock::Timeout) for anything
#   else holding dpkg, such as unattended-upgrades.
# - Debian's maintainer scripts must not start system services (the system's nginx on port 80,
#   MariaDB, or a fail2ban banning on this machine): policy-rc.d refuses them while we install.
#   It is ours only when we created it, and only removed then.
# - The package lists are refreshed only when an install from the cached lists fails.
set -euo pipefail
tag=apt-install log=
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --log) log="$2"; shift 2 ;;
    *) break ;;
  esac
done
missing() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || echo "$pkg"
  done
}
mapfile -t wanted < <(missing "$@")
[ ${#wanted[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "[$tag] need root to apt-get install ${wanted[*]}" >&2
  exit 1
fi
exec 9>/var/lock/edgejail-apt.lock
flock 9
# Another run may have installed them while this one waited.
mapfile -t wanted < <(missing "${wanted[@]}")
[ ${#wanted[@]} -eq 0 ] && exit 0
[ -n "$log" ] || log="$(mktemp -t edgejail-apt.XXXXXX.log)"
echo "[$tag] installing ${wanted[*]} (log: $log)" >&2
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d created_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt=(apt-get -o DPkg::Lock::Timeout=600 -y --no-install-recommends)
if ! "${apt[@]}" install "${wanted[@]}" >"$log" 2>&1; then
  "${apt[@]}" update >>"$log" 2>&1 || true
  "${apt[@]}" install "${wanted[@]}" >>"$log" 2>&1 || {
    echo "[$tag] apt-get failed, see $log" >&2; tail -20 "$log" >&2; exit 1; }
fi
