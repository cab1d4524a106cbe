<?php
/**
 * Removes everything EdgeJail created: options, the spool table, cached bans, cron jobs.
 *
 * @package EdgeJail
 */

defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

require_once __DIR__ . '/includes/class-edgejail-ip.php';
require_once __DIR__ . '/includes/class-edgejail-settings.php';
require_once __DIR__ . '/includes/class-edgejail-status.php';
require_once __DIR__ . '/includes/class-edgejail-cloudflare-ranges.php';
require_once __DIR__ . '/includes/class-edgejail-spool.php';
require_once __DIR__ . '/includes/class-edgejail-cron.php';
require_once __DIR__ . '/includes/class-edgejail-lifecycle.php';

EdgeJail_Lifecycle::uninstall();
