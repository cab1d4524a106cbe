#!/usr/bin/env bash
# Installs what the systemd unit's test needs from Debian: `systemd-analyze`, from the
# `systemd` package. Does nothing when it is already there.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
command -v systemd-analyze >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "systemd-deps: need root to apt-get install systemd" >&2
  exit 1
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends systemd >/dev/null
systemd-analyze --version | head -1
