#!/usr/bin/env bash
# Installs what the systemd unit's test needs from Debian: `systemd-analyze`, from the
# `systemd` package. Does nothing when it is already there.
set -euo pipefail
command -v systemd-analyze >/dev/null 2>&1 && exit 0
"$(dirname "$0")/apt-install.sh" --tag systemd-deps systemd
systemd-analyze --version | head -1
