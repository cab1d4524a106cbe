#!/usr/bin/env bash
# The WordPress plugin's tests, inside a real WordPress on real PHP and MariaDB
# (scripts/wp-env.sh installs and starts what is needed; this stops what it started).
# Extra arguments go to PHPUnit, e.g. `bash test/wp/run.sh --filter Spool`.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../scripts/wp-env.sh
source "$REPO/scripts/wp-env.sh"

wp_env_lock
trap wp_env_stop EXIT
wp_env_setup || { echo "wp-env setup failed" >&2; exit 1; }
# A token-auth scheme standing for third-party REST auth plugins (JWT and the like).
ln -sfn "$REPO/test/wp/mu-plugins/edgejail-test-token-auth.php" "$WP_ENV_ROOT/wp-content/mu-plugins/edgejail-test-token-auth.php"
# wp_mail() of the site written to a file (pre_wp_mail), for the self-unlock tests.
ln -sfn "$REPO/test/wp/mu-plugins/edgejail-test-mail-capture.php" "$WP_ENV_ROOT/wp-content/mu-plugins/edgejail-test-mail-capture.php"

cd "$REPO/test/wp" && wp_env_php /usr/bin/phpunit -c "${WP_TEST_PHPUNIT_CONFIG:-phpunit.xml}" "$@"
