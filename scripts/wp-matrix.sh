#!/usr/bin/env bash
# The plugin's PHP x WordPress matrix: test/wp/phpunit-matrix.xml (the behaviour tests) inside
# a real WordPress on SQLite, on real PHP builds from npm (php-wasm), each version its own site
# under .tmp/wp-matrix/php<PHP>-wp<WP>. Nothing is downloaded at test time: php-wasm and the
# SQLite drop-in come with `npm install`, WordPress 6.1 from Debian 12's package (scripts/wp-env.sh
# installs it) and the newest from Debian 13's (scripts/wp-debian13.sh, private apt config).
#
#   bash scripts/wp-matrix.sh                       # every PHP x every WordPress
#   WP_MATRIX_PHP="7.4 8.5" bash scripts/wp-matrix.sh   # two PHP versions on every WordPress
#   WP_MATRIX_PAIRS="7.4:6.1 8.5:6.8" bash scripts/wp-matrix.sh   # the two ends (`npm test`)
#   WP_MATRIX_WP=6.8 bash scripts/wp-matrix.sh --filter Spool
#   WP_MATRIX_MULTISITE=1 WP_MATRIX_PAIRS="7.4:6.1 8.5:6.8" bash scripts/wp-matrix.sh
#       the same versions as a subdirectory multisite network (test/wp/phpunit-multisite.xml),
#       each under .tmp/wp-matrix/php<PHP>-wp<WP>-multisite
# Extra arguments go to PHPUnit. Prints a results table and a closing "N passed, N failed".
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${WP_MATRIX_PHP:=7.4 8.0 8.1 8.2 8.3 8.4 8.5}"
: "${WP_MATRIX_WP:=6.1 6.8}"
: "${WP_MATRIX_MULTISITE:=}"
suite=phpunit-matrix.xml kind=""
if [ -n "$WP_MATRIX_MULTISITE" ]; then suite=phpunit-multisite.xml kind="-multisite"; fi
OUT="$REPO/.tmp/wp-matrix"
mkdir -p "$OUT"

wordpress_tree() {
  case "$1" in
    6.1) echo /usr/share/wordpress ;;
    6.8) bash "$REPO/scripts/wp-debian13.sh" ;;
    *) echo "wp-matrix: unknown WordPress $1 (6.1 or 6.8)" >&2; return 1 ;;
  esac
}

# Debian's wordpress 6.1 and phpunit (the site layout and PHPUnit the matrix reuses).
(source "$REPO/scripts/wp-env.sh" && WP_ENV_DIR="$OUT" wp_env_install_packages) || exit 1

pairs=()
if [ -n "${WP_MATRIX_PAIRS:-}" ]; then
  pairs=($WP_MATRIX_PAIRS)
else
  for wp in $WP_MATRIX_WP; do for php in $WP_MATRIX_PHP; do pairs+=("$php:$wp"); done; done
fi

rows=() passed=0 failed=0 ok=1
for pair in "${pairs[@]}"; do
  php="${pair%%:*}" wp="${pair##*:}"
  tree="$(wordpress_tree "$wp")" || exit 1
  dir="$OUT/php$php-wp$wp$kind" log="$OUT/php$php-wp$wp$kind.log"
  echo "=== PHP $php, WordPress $wp ($tree)${kind:+, multisite}"
  started=$SECONDS
  WP_ENV_DIR="$dir" WP_ENV_DB=sqlite WP_ENV_PHP_WASM="$php" WP_ENV_WP_SRC="$tree" WP_ENV_MULTISITE="$WP_MATRIX_MULTISITE" \
    WP_TEST_PHPUNIT_CONFIG="$suite" WP_TEST_LISTENER_PHP="$(command -v php)" bash "$REPO/test/wp/run.sh" "$@" >"$log" 2>&1
  code=$?
  grep -v '^Unsupported socket option' "$log" | tail -n 40
  tests=0 bad=0
  if line="$(grep -Eo 'OK \([0-9]+ tests?' "$log" | tail -1)" && [ -n "$line" ]; then
    tests="$(grep -Eo '[0-9]+' <<<"$line")"
  elif line="$(grep -E '^Tests: [0-9]+' "$log" | tail -1)" && [ -n "$line" ]; then
    tests="$(sed -E 's/^Tests: ([0-9]+).*/\1/' <<<"$line")"
    bad=$(( $(grep -Eo 'Failures: [0-9]+' <<<"$line" | grep -Eo '[0-9]+' || echo 0) + $(grep -Eo 'Errors: [0-9]+' <<<"$line" | grep -Eo '[0-9]+' || echo 0) ))
  fi
  [ "$code" = 0 ] && [ "$tests" -gt 0 ] || { ok=0; [ "$bad" -gt 0 ] || bad=1; }
  passed=$((passed + tests - bad)); failed=$((failed + bad))
  actual_wp="$(sed -nE "s/^\\\$wp_version = '([^']+)';/\\1/p" "$tree/wp-includes/version.php")"
  rows+=("| $php | $actual_wp | $([ "$code" = 0 ] && echo pass || echo FAIL) | $((tests - bad))/$tests | $((SECONDS - started)) s |")
done

{
  echo "| PHP | WordPress | result | tests passed | time |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} | tee "$OUT/results$kind.md"
echo "matrix: $passed passed, $failed failed"
[ "$ok" = 1 ]
