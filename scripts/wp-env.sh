#!/usr/bin/env bash
# A throwaway WordPress on real PHP and a private MariaDB, for the plugin's tests and
# the end-to-end test. Needs nothing but Debian 12 and root (it apt-installs what is
# missing). Nothing here touches the system's own MariaDB, /etc/wordpress or systemd.
#
# Use it sourced (functions + variables) or run it:
#   source scripts/wp-env.sh && wp_env_setup      # install, start DB, fresh site, plugin active
#   bash scripts/wp-env.sh setup | stop | serve PORT | env
#
# Variables (set before sourcing to override; exported after wp_env_setup):
#   WP_ENV_DIR            state folder (default <repo>/.tmp/wp-env): mysql/ data, run/, site/, logs
#   WP_ENV_ROOT           the WordPress document root ($WP_ENV_DIR/site); the plugin is
#                         symlinked as wp-content/plugins/edgejail -> <repo>/wp-plugin/edgejail
#   WP_ENV_DB_SOCKET      MariaDB unix socket (no TCP: two checkouts never collide on a port)
#   WP_ENV_DB_NAME/USER/PASSWORD   the site's database (dropped and re-created by wp_env_setup)
#   WP_ENV_ADMIN_USER/PASSWORD     administrator of the site
#   WP_ENV_USER/PASSWORD           a subscriber with a known password ("alice")
#   WP_ENV_DEBUG_LOG      WordPress's debug.log (WP_DEBUG on, display off)
#   WP_ENV_WP_SRC         the WordPress core tree to lay out (default Debian's /usr/share/wordpress)
#   WP_ENV_DB             mariadb (default) or sqlite: WordPress on a SQLite file through the
#                         sqlite-database-integration drop-in that @wp-playground/cli ships
#   WP_ENV_MULTISITE      1: a subdirectory multisite network (blogs / and /second/), the
#                         plugin network-activated; wp-content/sunrise.php lets it answer on any port
#   WP_ENV_PHP_WASM       a PHP version (7.4 … 8.5): WordPress, PHPUnit and every `php -S` the
#                         tests start run on that php-wasm build (scripts/php-wasm.mjs) instead of Debian's php
# The site URL follows the Host header, so any port or server (php -S, nginx) can serve it.
# wp-config.php sets DISABLE_WP_CRON (tests run cron hooks themselves), WP_ENVIRONMENT_TYPE
# local (application passwords over plain http), WP_HTTP_BLOCK_EXTERNAL (WordPress's own HTTP
# API reaches no host but the site's, so no update checks leave the machine) and includes $WP_ENV_DIR/wp-config-extra.php
# when that file exists (e.g. EDGEJAIL_* constants for an end-to-end run).
#
# Functions:
#   wp_env_setup            all of the below, in order; idempotent, fast when already done
#   wp_env_install_packages apt-get install what is missing
#   wp_env_start_db         start the private mariadbd unless it is running (remembers it started it)
#   wp_env_reset_db         drop and create the site's database and user
#   wp_env_create_site      core files (hard links to /usr/share/wordpress), wp-config.php, plugin link
#   wp_env_install_wp       wp_install() + users + activate the plugin (scripts/wp-install.php)
#   wp_env_mysql ARGS...    mysql client on the private server, as root
#   wp_env_serve PORT [LOG] php -S for the site in the background; prints its pid
#   wp_env_stop             stop what this shell started (the database server); use in a trap
#   wp_env_lock             serialise runs sharing $WP_ENV_DIR (flock, held until the shell exits)

WP_ENV_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${WP_ENV_DIR:=$WP_ENV_REPO/.tmp/wp-env}"
: "${WP_ENV_DB_NAME:=edgejail_wp}"
: "${WP_ENV_DB_USER:=edgejail_wp}"
: "${WP_ENV_DB_PASSWORD:=edgejail_wp_pw}"
: "${WP_ENV_ADMIN_USER:=siteadmin}"
: "${WP_ENV_ADMIN_PASSWORD:=siteadmin-pw-1}"
: "${WP_ENV_USER:=alice}"
: "${WP_ENV_PASSWORD:=alice-pw-1}"
: "${WP_ENV_WP_SRC:=/usr/share/wordpress}"
: "${WP_ENV_DB:=mariadb}"
: "${WP_ENV_PHP_WASM:=}"
: "${WP_ENV_MULTISITE:=}"
WP_ENV_ROOT="$WP_ENV_DIR/site"
WP_ENV_SQLITE_FILE="$WP_ENV_DIR/wordpress.sqlite"
WP_ENV_SQLITE_ZIP="$WP_ENV_REPO/node_modules/@wp-playground/cli/sqlite-database-integration.zip"
WP_ENV_DEBUG_LOG="$WP_ENV_DIR/debug.log"
WP_ENV_PACKAGES=(wordpress php-cli php-mysql php-curl php-xml php-mbstring phpunit mariadb-server mariadb-client)

_wp_env_socket_path() {
  local sock="$WP_ENV_DIR/run/mysqld.sock"
  # Unix socket paths are limited to 107 bytes.
  if [ ${#sock} -gt 100 ]; then sock="/tmp/edgejail-wp-env-$(printf '%s' "$WP_ENV_DIR" | md5sum | cut -c1-12).sock"; fi
  printf '%s' "$sock"
}
WP_ENV_DB_SOCKET="$(_wp_env_socket_path)"

_wp_env_log() { printf '[wp-env] %s\n' "$*" >&2; }

wp_env_lock() {
  mkdir -p "$WP_ENV_DIR"
  exec {WP_ENV_LOCK_FD}>"$WP_ENV_DIR/.lock"
  if ! flock -n "$WP_ENV_LOCK_FD"; then
    _wp_env_log "waiting for another run using $WP_ENV_DIR"
    flock "$WP_ENV_LOCK_FD"
  fi
}

wp_env_install_packages() {
  "$WP_ENV_REPO/scripts/apt-install.sh" --tag wp-env --log "$WP_ENV_DIR/apt.log" "${WP_ENV_PACKAGES[@]}"
}

# The PHP that runs WordPress: Debian's, or the php-wasm build of $WP_ENV_PHP_WASM. php-wasm's
# PHP_BINARY is a shim that starts the same build again, so `php -S` and `php -l` in the tests
# run on the version under test too. Its temporary files stay in $WP_ENV_DIR/tmp.
wp_env_php() {
  if [ -z "$WP_ENV_PHP_WASM" ]; then php "$@"; return; fi
  mkdir -p "$WP_ENV_DIR/tmp"
  TMPDIR="$WP_ENV_DIR/tmp" PHP="$WP_ENV_PHP_WASM" node "$WP_ENV_REPO/scripts/php-wasm.mjs" "$@"
}

# The SQLite drop-in, unpacked once from the npm package (nothing fetched at test time).
wp_env_sqlite_plugin() {
  local dest="$WP_ENV_DIR/sqlite-database-integration"
  [ -f "$dest/wp-includes/sqlite/db.php" ] && [ "$dest/load.php" -nt "$WP_ENV_SQLITE_ZIP" ] && return 0
  [ -f "$WP_ENV_SQLITE_ZIP" ] || { _wp_env_log "missing $WP_ENV_SQLITE_ZIP: run npm install"; return 1; }
  rm -rf "$dest" "$WP_ENV_DIR/sqlite-unzip"
  wp_env_php -r '$z = new ZipArchive(); if ( true !== $z->open( $argv[1] ) || ! $z->extractTo( $argv[2] ) ) { exit( 1 ); }' \
    "$WP_ENV_SQLITE_ZIP" "$WP_ENV_DIR/sqlite-unzip" || { _wp_env_log "could not unpack $WP_ENV_SQLITE_ZIP"; return 1; }
  mv "$WP_ENV_DIR"/sqlite-unzip/*/ "$dest" && rm -rf "$WP_ENV_DIR/sqlite-unzip" || return 1
  # The drop-in (3.x, "Requires at least: 6.4") mirrors a wpdb property WordPress 6.1 lacks, only
  # for WordPress's own unit tests, and fatals on 6.1 doing it; there, it keeps its own copy.
  if ! grep -q allow_unsafe_unquoted_parameters "$WP_ENV_WP_SRC/wp-includes/class-wpdb.php"; then
    sed -i "s/\$wpdb_allow_unsafe_unquoted_parameters = \$this->__get( 'allow_unsafe_unquoted_parameters' );/\$wpdb_allow_unsafe_unquoted_parameters = \$this->allow_unsafe_unquoted_parameters;/" \
      "$dest/wp-includes/sqlite/class-wp-sqlite-db.php"
  fi
  touch "$dest/load.php"
}

wp_env_reset_sqlite() { rm -f "$WP_ENV_SQLITE_FILE" "$WP_ENV_SQLITE_FILE-journal" "$WP_ENV_SQLITE_FILE-wal" "$WP_ENV_SQLITE_FILE-shm"; }

wp_env_mysql() { mysql --no-defaults --socket="$WP_ENV_DB_SOCKET" -uroot "$@"; }

_wp_env_db_alive() { mysqladmin --no-defaults --socket="$WP_ENV_DB_SOCKET" -uroot ping >/dev/null 2>&1; }

wp_env_start_db() {
  local data="$WP_ENV_DIR/mysql" run="$WP_ENV_DIR/run"
  mkdir -p "$run"
  if _wp_env_db_alive; then return 0; fi
  local as_user=()
  [ "$(id -u)" = 0 ] && as_user=(--user=root)
  if [ ! -d "$data/mysql" ]; then
    _wp_env_log "initialising MariaDB in $data"
    rm -rf "$data"; mkdir -p "$data"
    mariadb-install-db --no-defaults --datadir="$data" --auth-root-authentication-method=normal \
      --skip-test-db "${as_user[@]}" >"$WP_ENV_DIR/mariadb-install.log" 2>&1 \
      || { tail -20 "$WP_ENV_DIR/mariadb-install.log" >&2; return 1; }
  fi
  rm -f "$WP_ENV_DB_SOCKET"
  mariadbd --no-defaults --datadir="$data" --socket="$WP_ENV_DB_SOCKET" --skip-networking \
    --pid-file="$run/mysqld.pid" --log-error="$WP_ENV_DIR/mariadb.log" "${as_user[@]}" \
    --skip-log-bin --innodb-buffer-pool-size=64M --innodb-flush-log-at-trx-commit=2 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci >/dev/null 2>&1 &
  WP_ENV_DB_PID=$!
  local i
  for i in $(seq 1 150); do
    _wp_env_db_alive && { WP_ENV_STARTED_DB=1; return 0; }
    kill -0 "$WP_ENV_DB_PID" 2>/dev/null || break
    sleep 0.2
  done
  _wp_env_log "MariaDB did not start"; tail -20 "$WP_ENV_DIR/mariadb.log" >&2
  return 1
}

wp_env_reset_db() {
  wp_env_mysql <<SQL
DROP DATABASE IF EXISTS \`$WP_ENV_DB_NAME\`;
CREATE DATABASE \`$WP_ENV_DB_NAME\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$WP_ENV_DB_USER'@'localhost' IDENTIFIED BY '$WP_ENV_DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$WP_ENV_DB_NAME\`.* TO '$WP_ENV_DB_USER'@'localhost';
FLUSH PRIVILEGES;
SQL
}

wp_env_create_site() {
  local src="$WP_ENV_WP_SRC" site="$WP_ENV_ROOT" entry db_config
  mkdir -p "$site"
  # Core: hard links when possible (same filesystem), copies otherwise. A real copy of the
  # top level is needed anyway: PHP resolves symlinks in __FILE__, and wp-load.php would
  # then pick up Debian's /usr/share/wordpress/wp-config.php.
  if [ ! -f "$site/wp-settings.php" ] || [ "$site/wp-includes/version.php" -ot "$src/wp-includes/version.php" ]; then
    _wp_env_log "laying WordPress core into $site"
    for entry in "$src"/*; do
      case "$(basename "$entry")" in wp-config.php|wp-content) continue ;; esac
      rm -rf "${site:?}/$(basename "$entry")"
      cp -al "$entry" "$site/" 2>/dev/null || cp -a "$entry" "$site/"
    done
  fi
  mkdir -p "$site/wp-content/plugins" "$site/wp-content/themes" "$site/wp-content/uploads" "$site/wp-content/mu-plugins"
  ln -sfn "$src/wp-content/themes/twentytwentythree" "$site/wp-content/themes/twentytwentythree"
  ln -sfn "$WP_ENV_REPO/wp-plugin/edgejail" "$site/wp-content/plugins/edgejail"
  # Written by wp_env_install_wp once the network exists; until then the site is a single one.
  rm -f "$WP_ENV_DIR/wp-config-multisite.php"
  ln -sfn "$WP_ENV_REPO/scripts/wp-sunrise.php" "$site/wp-content/sunrise.php"
  # No mail leaves a throwaway site (and Debian has no sendmail here).
  printf '<?php\nadd_filter( "pre_wp_mail", "__return_true" );\n' >"$site/wp-content/mu-plugins/wp-env-no-mail.php"
  [ -f "$WP_ENV_DIR/salts.php" ] || php -r '
    $keys = array("AUTH_KEY","SECURE_AUTH_KEY","LOGGED_IN_KEY","NONCE_KEY","AUTH_SALT","SECURE_AUTH_SALT","LOGGED_IN_SALT","NONCE_SALT");
    echo "<?php\n"; foreach ($keys as $k) { printf("define(%s, %s);\n", var_export($k, true), var_export(bin2hex(random_bytes(32)), true)); }' >"$WP_ENV_DIR/salts.php"
  if [ "$WP_ENV_DB" = sqlite ]; then
    sed "s#{SQLITE_IMPLEMENTATION_FOLDER_PATH}#$WP_ENV_DIR/sqlite-database-integration#; s#{SQLITE_PLUGIN}#sqlite-database-integration/load.php#" \
      "$WP_ENV_DIR/sqlite-database-integration/db.copy" >"$site/wp-content/db.php"
    db_config="define( 'DB_DIR', '$WP_ENV_DIR' );
define( 'DB_FILE', '$(basename "$WP_ENV_SQLITE_FILE")' );
// Two php-wasm processes (PHPUnit and php -S) share the file, but not memory: WAL's shared
// index cannot work between them, a rollback journal with file locks does. TRUNCATE, not
// DELETE: php-wasm caches directory entries, so a journal another process deleted would
// still be seen.
define( 'SQLITE_JOURNAL_MODE', 'TRUNCATE' );
define( 'DB_NAME', '$WP_ENV_DB_NAME' );"
  else
    rm -f "$site/wp-content/db.php"
    db_config="define( 'DB_NAME', '$WP_ENV_DB_NAME' );
define( 'DB_USER', '$WP_ENV_DB_USER' );
define( 'DB_PASSWORD', '$WP_ENV_DB_PASSWORD' );
define( 'DB_HOST', 'localhost:$WP_ENV_DB_SOCKET' );"
  fi
  cat >"$site/wp-config.php" <<PHP
<?php
// Written by scripts/wp-env.sh; rewritten on every setup.
$db_config
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
\$table_prefix = 'wp_';
require __DIR__ . '/../salts.php';
\$edgejail_env_host = isset( \$_SERVER['HTTP_HOST'] ) && preg_match( '/^[A-Za-z0-9.:\\[\\]-]+\$/', \$_SERVER['HTTP_HOST'] ) ? \$_SERVER['HTTP_HOST'] : '127.0.0.1';
if ( file_exists( __DIR__ . '/../wp-config-multisite.php' ) ) {
	// Each blog has its own home; sunrise.php maps any port onto the network's 127.0.0.1.
	require __DIR__ . '/../wp-config-multisite.php';
} else {
	define( 'WP_HOME', 'http://' . \$edgejail_env_host );
	define( 'WP_SITEURL', 'http://' . \$edgejail_env_host );
}
define( 'WP_ENVIRONMENT_TYPE', 'local' );
define( 'DISABLE_WP_CRON', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
// Tests reach loopback only: no update checks, no wordpress.org (the site's own host stays reachable).
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'WP_AUTO_UPDATE_CORE', false );
define( 'FS_METHOD', 'direct' );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '$WP_ENV_DEBUG_LOG' );
if ( file_exists( __DIR__ . '/../wp-config-extra.php' ) ) {
	// Tests rewrite it between two requests to the same php -S: opcache must not serve the old one.
	if ( function_exists( 'opcache_invalidate' ) ) {
		opcache_invalidate( __DIR__ . '/../wp-config-extra.php', true );
	}
	require __DIR__ . '/../wp-config-extra.php';
}
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
PHP
}

wp_env_install_wp() {
  WP_ENV_ROOT="$WP_ENV_ROOT" WP_ENV_ADMIN_USER="$WP_ENV_ADMIN_USER" WP_ENV_ADMIN_PASSWORD="$WP_ENV_ADMIN_PASSWORD" \
    WP_ENV_USER="$WP_ENV_USER" WP_ENV_PASSWORD="$WP_ENV_PASSWORD" \
    wp_env_php "$WP_ENV_REPO/scripts/wp-install.php" install || return 1
  if [ -n "$WP_ENV_MULTISITE" ]; then
    WP_ENV_ROOT="$WP_ENV_ROOT" WP_ENV_ADMIN_USER="$WP_ENV_ADMIN_USER" \
      wp_env_php "$WP_ENV_REPO/scripts/wp-install.php" network || return 1
    cat >"$WP_ENV_DIR/wp-config-multisite.php" <<'PHP'
<?php
// Written by scripts/wp-env.sh (WP_ENV_MULTISITE=1): a subdirectory network on 127.0.0.1.
define( 'MULTISITE', true );
define( 'SUBDOMAIN_INSTALL', false );
define( 'DOMAIN_CURRENT_SITE', '127.0.0.1' );
define( 'PATH_CURRENT_SITE', '/' );
define( 'SITE_ID_CURRENT_SITE', 1 );
define( 'BLOG_ID_CURRENT_SITE', 1 );
define( 'SUNRISE', true );
PHP
    WP_ENV_ROOT="$WP_ENV_ROOT" WP_ENV_ADMIN_USER="$WP_ENV_ADMIN_USER" \
      wp_env_php "$WP_ENV_REPO/scripts/wp-install.php" blogs || return 1
    WP_ENV_ROOT="$WP_ENV_ROOT" wp_env_php "$WP_ENV_REPO/scripts/wp-install.php" activate-network
    return
  fi
  WP_ENV_ROOT="$WP_ENV_ROOT" wp_env_php "$WP_ENV_REPO/scripts/wp-install.php" activate
}

wp_env_setup() {
  mkdir -p "$WP_ENV_DIR"
  wp_env_install_packages || return 1
  if [ "$WP_ENV_DB" = sqlite ]; then
    wp_env_sqlite_plugin || return 1
    wp_env_reset_sqlite
  else
    wp_env_start_db || return 1
    wp_env_reset_db || return 1
  fi
  wp_env_create_site || return 1
  : >"$WP_ENV_DEBUG_LOG"
  wp_env_install_wp || return 1
  export WP_ENV_DIR WP_ENV_ROOT WP_ENV_DB_SOCKET WP_ENV_DB_NAME WP_ENV_DB_USER WP_ENV_DB_PASSWORD \
    WP_ENV_ADMIN_USER WP_ENV_ADMIN_PASSWORD WP_ENV_USER WP_ENV_PASSWORD WP_ENV_DEBUG_LOG \
    WP_ENV_WP_SRC WP_ENV_DB WP_ENV_PHP_WASM WP_ENV_MULTISITE
}

wp_env_serve() {
  local port="$1" log="${2:-$WP_ENV_DIR/php-server-$1.log}"
  php -S "127.0.0.1:$port" -t "$WP_ENV_ROOT" "$WP_ENV_REPO/scripts/wp-router.php" >"$log" 2>&1 &
  local pid=$! i
  for i in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$pid"; return 0; }
    sleep 0.1
  done
  _wp_env_log "php -S on port $port did not start"; cat "$log" >&2; return 1
}

wp_env_stop() {
  if [ "${WP_ENV_STARTED_DB:-0}" = 1 ]; then
    mysqladmin --no-defaults --socket="$WP_ENV_DB_SOCKET" -uroot shutdown >/dev/null 2>&1 \
      || { [ -n "${WP_ENV_DB_PID:-}" ] && kill "$WP_ENV_DB_PID" 2>/dev/null; }
    [ -n "${WP_ENV_DB_PID:-}" ] && wait "$WP_ENV_DB_PID" 2>/dev/null
    WP_ENV_STARTED_DB=0
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-setup}" in
    setup) wp_env_setup; echo "WordPress ready in $WP_ENV_ROOT (MariaDB socket $WP_ENV_DB_SOCKET; left running)" ;;
    stop) WP_ENV_STARTED_DB=1; wp_env_stop ;;
    serve) wp_env_serve "${2:?port}" ;;
    env) for v in WP_ENV_DIR WP_ENV_ROOT WP_ENV_DB_SOCKET WP_ENV_DB_NAME WP_ENV_DB_USER WP_ENV_DB_PASSWORD \
      WP_ENV_ADMIN_USER WP_ENV_ADMIN_PASSWORD WP_ENV_USER WP_ENV_PASSWORD WP_ENV_DEBUG_LOG; do echo "$v=${!v}"; done ;;
    *) echo "usage: $0 setup|stop|serve PORT|env" >&2; exit 2 ;;
  esac
fi
