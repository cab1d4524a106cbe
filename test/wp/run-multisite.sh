#!/usr/bin/env bash
# The plugin's tests in a real multisite network: test/wp/run.sh on a subdirectory network
# (scripts/wp-env.sh with WP_ENV_MULTISITE=1) with the suite test/wp/phpunit-multisite.xml.
# Extra arguments go to PHPUnit, e.g. `bash test/wp/run-multisite.sh --filter Multisite`.
export WP_ENV_MULTISITE=1 WP_TEST_PHPUNIT_CONFIG="${WP_TEST_PHPUNIT_CONFIG:-phpunit-multisite.xml}"
exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
