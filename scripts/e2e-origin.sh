#!/usr/bin/env bash
# The origin of the end-to-end test and the benchmark: the WordPress that scripts/wp-env.sh
# installs, served by nginx and a multi-worker php-fpm pool on loopback, as a real host
# would serve it behind Cloudflare. Everything lives under $E2E_DIR (pid files, sockets,
# logs, configs); nothing in /etc is touched and no system service is started.
#
#   bash scripts/e2e-origin.sh setup              packages, private MariaDB, fresh site, plugin active
#   bash scripts/e2e-origin.sh reset-site         fresh database and site (MariaDB must be up)
#   bash scripts/e2e-origin.sh start HOST PORT    php-fpm + nginx on HOST:PORT
#   bash scripts/e2e-origin.sh revive             start whichever of MariaDB, php-fpm, nginx is not running
#                                                 (after a crash: same configs, data and access log)
#   bash scripts/e2e-origin.sh stop               stop nginx, php-fpm and MariaDB (only ours, by pid file)
#   bash scripts/e2e-origin.sh plugin activate|deactivate   the EdgeJail plugin on or off
#   bash scripts/e2e-origin.sh env                print the paths the caller needs
#
# Variables: E2E_DIR (default <repo>/.tmp/e2e), WP_ENV_DIR (default $E2E_DIR/wp-env, so the
# plugin's own test suite, which uses .tmp/wp-env, never shares a database with us),
# E2E_PHP_WORKERS (php-fpm children, default 4), E2E_NGINX_WORKERS (default 2),
# E2E_PHP_PM (static, the default, or dynamic: then E2E_PHP_WORKERS is pm.max_children and
# E2E_PHP_START_SERVERS / E2E_PHP_MIN_SPARE / E2E_PHP_MAX_SPARE size the idle pool, as a
# small VPS is set up), E2E_CGROUP (a cgroup directory the script joins before anything else,
# so the MariaDB, php-fpm and nginx it starts live in that group; the caller owns the group).
#
# nginx's access log ($E2E_DIR/origin/access.log) is one JSON object per request:
#   {"t": epoch seconds at the end, "rt": request time in seconds, "addr": peer address,
#    "cf": CF-Connecting-IP, "ray": CF-Ray (the edge's id of the request), "method", "uri",
#    "status", "php": 0|1 (whether PHP ran)}
# and $E2E_DIR/origin/access-edgejail.log is the same requests in the format the README asks
# of an admin for `edgejail tail`: combined, plus "$http_cf_connecting_ip".
# The peer address of a request that did not come through the edge is what the test says it
# is (X-Test-Client-IP via nginx's realip module): the test's attackers live on one machine,
# so that header stands in for the packet's source address. The edge proxy strips it.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${E2E_DIR:=$REPO/.tmp/e2e}"
: "${WP_ENV_DIR:=$E2E_DIR/wp-env}"
: "${E2E_PHP_WORKERS:=4}"
: "${E2E_NGINX_WORKERS:=2}"
: "${E2E_PHP_PM:=static}"
: "${E2E_PHP_START_SERVERS:=2}"
: "${E2E_PHP_MIN_SPARE:=1}"
: "${E2E_PHP_MAX_SPARE:=3}"
export WP_ENV_DIR
if [ -n "${E2E_CGROUP:-}" ]; then
  # Before anything is started: every process forked from here on is charged to the group.
  echo $$ >"$E2E_CGROUP/cgroup.procs" || { printf '[e2e-origin] cannot join cgroup %s\n' "$E2E_CGROUP" >&2; exit 1; }
fi
ORIGIN_DIR="$E2E_DIR/origin"
# shellcheck source=scripts/wp-env.sh
source "$REPO/scripts/wp-env.sh"

log() { printf '[e2e-origin] %s\n' "$*" >&2; }

install_packages() {
  mkdir -p "$E2E_DIR"
  "$REPO/scripts/apt-install.sh" --tag e2e-origin --log "$E2E_DIR/apt.log" nginx php-fpm
}

php_fpm_binary() {
  local bin
  bin="$(command -v php-fpm 2>/dev/null || true)"
  [ -n "$bin" ] || bin="$(ls /usr/sbin/php-fpm* 2>/dev/null | sort -V | tail -1)"
  [ -x "$bin" ] || { log "no php-fpm binary found"; return 1; }
  printf '%s' "$bin"
}

# Unix socket paths are limited to 107 bytes.
fpm_socket() {
  local sock="$ORIGIN_DIR/php-fpm.sock"
  [ ${#sock} -le 100 ] || sock="/tmp/edgejail-e2e-fpm-$(printf '%s' "$ORIGIN_DIR" | md5sum | cut -c1-12).sock"
  printf '%s' "$sock"
}

# Stops the process named by a pid file if it is still the program we started.
stop_pidfile() {
  local file="$1" name="$2" signal="${3:-TERM}" pid i
  [ -f "$file" ] || return 0
  pid="$(cat "$file" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null; then
    kill "-$signal" "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

pool_settings() {
  case "$E2E_PHP_PM" in
    static)
      printf '; A fixed pool: the benchmark compares runs, and a dynamic pool would measure its own spawning.\npm = static\npm.max_children = %s\n' "$E2E_PHP_WORKERS" ;;
    dynamic)
      printf '; A small server as hosts ship it: workers are spawned as requests queue, up to max_children.\npm = dynamic\npm.max_children = %s\npm.start_servers = %s\npm.min_spare_servers = %s\npm.max_spare_servers = %s\n' \
        "$E2E_PHP_WORKERS" "$E2E_PHP_START_SERVERS" "$E2E_PHP_MIN_SPARE" "$E2E_PHP_MAX_SPARE" ;;
    *) log "E2E_PHP_PM must be static or dynamic, not $E2E_PHP_PM"; return 1 ;;
  esac
}

write_configs() {
  local host="$1" port="$2" sock as_root_nginx='' as_root_fpm=''
  pool_settings >/dev/null || return 1
  sock="$(fpm_socket)"
  mkdir -p "$ORIGIN_DIR/nginx-temp"
  if [ "$(id -u)" = 0 ]; then
    as_root_nginx='user root root;'
    as_root_fpm=$'user = root\ngroup = root'
  fi
  cat >"$ORIGIN_DIR/php-fpm.conf" <<CONF
; Written by scripts/e2e-origin.sh.
[global]
pid = $ORIGIN_DIR/php-fpm.pid
error_log = $ORIGIN_DIR/php-fpm.log
daemonize = yes

[edgejail-e2e]
$as_root_fpm
listen = $sock
listen.mode = 0666
$(pool_settings)
pm.max_requests = 0
catch_workers_output = yes
clear_env = no
php_admin_value[error_log] = $ORIGIN_DIR/php-errors.log
php_admin_flag[log_errors] = on
php_admin_value[memory_limit] = 256M
; wp-config-extra.php is rewritten between runs; read it fresh every request.
php_admin_value[opcache.revalidate_freq] = 0
CONF

  cat >"$ORIGIN_DIR/nginx.conf" <<CONF
# Written by scripts/e2e-origin.sh.
$as_root_nginx
worker_processes $E2E_NGINX_WORKERS;
pid $ORIGIN_DIR/nginx.pid;
error_log $ORIGIN_DIR/nginx-error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  client_body_temp_path $ORIGIN_DIR/nginx-temp/body;
  proxy_temp_path $ORIGIN_DIR/nginx-temp/proxy;
  fastcgi_temp_path $ORIGIN_DIR/nginx-temp/fastcgi;
  uwsgi_temp_path $ORIGIN_DIR/nginx-temp/uwsgi;
  scgi_temp_path $ORIGIN_DIR/nginx-temp/scgi;
  keepalive_requests 100000;
  # Requests that bypass the edge: the test names their source address (see the header of this script).
  set_real_ip_from 127.0.0.0/8;
  real_ip_header X-Test-Client-IP;
  map \$upstream_addr \$reached_php { "" 0; default 1; }
  log_format e2e escape=json '{"t":\$msec,"rt":\$request_time,"addr":"\$remote_addr","cf":"\$http_cf_connecting_ip","ray":"\$http_cf_ray","method":"\$request_method","uri":"\$request_uri","status":\$status,"php":\$reached_php}';
  access_log $ORIGIN_DIR/access.log e2e;
  log_format edgejail '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" "\$http_cf_connecting_ip"';
  access_log $ORIGIN_DIR/access-edgejail.log edgejail;
  server {
    listen $host:$port;
    server_name _;
    root $WP_ENV_ROOT;
    index index.php;
    location / { try_files \$uri \$uri/ /index.php?\$args; }
    location ~ \.php\$ {
      try_files \$uri =404;
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_pass unix:$sock;
    }
  }
}
CONF
}

wait_for_port() {
  local host="$1" port="$2" i
  for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_origin() {
  local host="${1:?host}" port="${2:?port}" fpm
  mkdir -p "$ORIGIN_DIR"
  stop_origin_servers
  write_configs "$host" "$port"
  : >"$ORIGIN_DIR/access.log"
  : >"$ORIGIN_DIR/access-edgejail.log"
  fpm="$(php_fpm_binary)"
  local root_flag=()
  [ "$(id -u)" = 0 ] && root_flag=(--allow-to-run-as-root)
  "$fpm" --fpm-config "$ORIGIN_DIR/php-fpm.conf" "${root_flag[@]}" \
    || { log "php-fpm did not start"; tail -20 "$ORIGIN_DIR/php-fpm.log" >&2; return 1; }
  nginx -p "$ORIGIN_DIR" -e "$ORIGIN_DIR/nginx-error.log" -c "$ORIGIN_DIR/nginx.conf" \
    || { log "nginx did not start"; tail -20 "$ORIGIN_DIR/nginx-error.log" >&2; return 1; }
  wait_for_port "$host" "$port" || { log "nginx is not listening on $host:$port"; return 1; }
  local sock i
  sock="$(fpm_socket)"
  for i in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
  [ -S "$sock" ] || { log "php-fpm socket $sock missing"; return 1; }
  log "origin on http://$host:$port (nginx + php-fpm x$E2E_PHP_WORKERS), logs in $ORIGIN_DIR"
}

# Whether the process named by a pid file is running (a zombie or a reused pid is not).
pidfile_alive() {
  local file="$1" name="$2" pid
  pid="$(cat "$file" 2>/dev/null || true)"
  [ -n "$pid" ] && grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}

# What systemd's Restart= does for a host: bring back what crashed (the OOM killer), nothing else.
revive_origin() {
  # By pid, not by ping: a server too busy to answer a ping is not to be started twice.
  pidfile_alive "$WP_ENV_DIR/run/mysqld.pid" mariadbd || wp_env_start_db
  local fpm root_flag=()
  if ! pidfile_alive "$ORIGIN_DIR/php-fpm.pid" php-fpm; then
    rm -f "$ORIGIN_DIR/php-fpm.pid" "$(fpm_socket)"
    fpm="$(php_fpm_binary)"
    [ "$(id -u)" = 0 ] && root_flag=(--allow-to-run-as-root)
    "$fpm" --fpm-config "$ORIGIN_DIR/php-fpm.conf" "${root_flag[@]}" || { log "php-fpm did not start"; return 1; }
  fi
  if ! pidfile_alive "$ORIGIN_DIR/nginx.pid" nginx; then
    rm -f "$ORIGIN_DIR/nginx.pid"
    nginx -p "$ORIGIN_DIR" -e "$ORIGIN_DIR/nginx-error.log" -c "$ORIGIN_DIR/nginx.conf" || { log "nginx did not start"; return 1; }
  fi
}

stop_origin_servers() {
  stop_pidfile "$ORIGIN_DIR/nginx.pid" nginx QUIT
  stop_pidfile "$ORIGIN_DIR/php-fpm.pid" php-fpm QUIT
}

stop_all() {
  stop_origin_servers
  # The private MariaDB of our WP_ENV_DIR (wp-env.sh's own stop: mysqladmin shutdown on its socket).
  WP_ENV_STARTED_DB=1 wp_env_stop
}

case "${1:-}" in
  setup)
    install_packages
    wp_env_setup
    ;;
  reset-site)
    wp_env_start_db
    wp_env_reset_db
    : >"$WP_ENV_DEBUG_LOG"
    wp_env_install_wp
    ;;
  start) start_origin "${2:-}" "${3:-}" ;;
  plugin)
    case "${2:-}" in activate | deactivate) ;; *) echo "usage: $0 plugin activate|deactivate" >&2; exit 2 ;; esac
    wp_env_start_db
    WP_ENV_ROOT="$WP_ENV_ROOT" php "$REPO/scripts/wp-install.php" "$2"
    ;;
  revive) revive_origin ;;
  stop) stop_all ;;
  env)
    printf 'E2E_DIR=%s\nWP_ENV_DIR=%s\nWP_ENV_ROOT=%s\nORIGIN_DIR=%s\nACCESS_LOG=%s\nEDGEJAIL_ACCESS_LOG=%s\nWP_ENV_USER=%s\nWP_ENV_PASSWORD=%s\nWP_ENV_ADMIN_USER=%s\nWP_ENV_ADMIN_PASSWORD=%s\nWP_ENV_DEBUG_LOG=%s\nWP_ENV_DB_PID_FILE=%s\n' \
      "$E2E_DIR" "$WP_ENV_DIR" "$WP_ENV_ROOT" "$ORIGIN_DIR" "$ORIGIN_DIR/access.log" "$ORIGIN_DIR/access-edgejail.log" "$WP_ENV_USER" "$WP_ENV_PASSWORD" "$WP_ENV_ADMIN_USER" "$WP_ENV_ADMIN_PASSWORD" "$WP_ENV_DEBUG_LOG" "$WP_ENV_DIR/run/mysqld.pid"
    ;;
  *) echo "usage: $0 setup | reset-site | start HOST PORT | revive | plugin activate|deactivate | stop | env" >&2; exit 2 ;;
esac
