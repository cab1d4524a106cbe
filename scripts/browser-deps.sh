#!/usr/bin/env bash
# Installs what the browser test needs from Debian: the `chromium` package (driven by
# playwright-core, which never downloads a browser of its own) and fonts for legible
# screenshots. Does nothing when they are already there.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
# Without a font package Chromium renders text as boxes in screenshots.
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)
[ ${#missing[@]} -eq 0 ] && exit 0
"$(dirname "$0")/apt-install.sh" --tag browser-deps "${missing[@]}"
/usr/bin/chromium --version
