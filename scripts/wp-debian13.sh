#!/usr/bin/env bash
# Debian 13's `wordpress` package (6.8.x), unpacked into <repo>/.tmp/wp-debian13, for the PHP
# matrix's "newest WordPress". apt-get runs with a PRIVATE configuration: its own sources
# list, state, lists and cache under that folder, so the system's sources, package lists and
# installed packages are never touched. The mirror is the one the system's own Debian
# sources name. Prints the unpacked tree's /usr/share/wordpress. Idempotent.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${WP_DEBIAN13_DIR:-$REPO/.tmp/wp-debian13}"
TREE="$DIR/root/usr/share/wordpress"
if [ -f "$TREE/wp-includes/version.php" ]; then echo "$TREE"; exit 0; fi

mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
[ -n "$mirror" ] || mirror="$(awk '$1 == "deb" && $3 ~ /^(bookworm|trixie)$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)"
[ -n "$mirror" ] || { echo "wp-debian13: no Debian mirror in the system's apt sources" >&2; exit 1; }
security="${mirror%/debian}/debian-security"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

mkdir -p "$DIR/etc/preferences.d" "$DIR/etc/sources.list.d" "$DIR/state/lists/partial" "$DIR/cache/archives/partial" "$DIR/debs"
cat >"$DIR/etc/sources.list" <<EOF
deb [signed-by=$keyring] $mirror trixie main
deb [signed-by=$keyring] $mirror trixie-updates main
deb [signed-by=$keyring] $security trixie-security main
EOF
: >"$DIR/state/status"
apt_private=(
  -o Dir::Etc::SourceList="$DIR/etc/sources.list" -o Dir::Etc::SourceParts="$DIR/etc/sources.list.d"
  -o Dir::Etc::Preferences="$DIR/etc/preferences" -o Dir::Etc::PreferencesParts="$DIR/etc/preferences.d"
  -o Dir::State="$DIR/state" -o Dir::State::Lists="$DIR/state/lists" -o Dir::State::status="$DIR/state/status"
  -o Dir::Cache="$DIR/cache" -o Debug::NoLocking=1 -o APT::Architecture=amd64
)
apt-get "${apt_private[@]}" update >"$DIR/apt.log" 2>&1 || { tail -20 "$DIR/apt.log" >&2; exit 1; }
version="$(apt-cache "${apt_private[@]}" policy wordpress | awk '/Candidate:/ { print $2 }')"
[ -n "$version" ] && [ "$version" != "(none)" ] || { echo "wp-debian13: no wordpress in Debian 13's lists" >&2; exit 1; }
(cd "$DIR/debs" && apt-get "${apt_private[@]}" download "wordpress=$version" >>"$DIR/apt.log" 2>&1) || { tail -20 "$DIR/apt.log" >&2; exit 1; }
rm -rf "$DIR/root"
dpkg-deb -x "$DIR"/debs/wordpress_*.deb "$DIR/root"
echo "$TREE"
