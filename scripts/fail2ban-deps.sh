#!/usr/bin/env bash
# Installs Debian's fail2ban (and curl, which the edgejail action uses) when missing, for the
# fail2ban tests. Needs root on Debian 12. Never starts the system's fail2ban: the tests run a
# private fail2ban-server with its own socket, pid file and database in a temp dir.
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" --tag fail2ban-deps fail2ban curl
