<?php
/**
 * Plugin Name:       EdgeJail
 * Plugin URI:        https://github.com/edgejail/edgejail
 * Description:       Reports failed logins, XML-RPC and REST password guessing, user enumeration and pingback abuse, with the attacker's real IP, to an EdgeJail service that bans them at Cloudflare's edge. Answers banned IPs with 403 at the origin too.
 * Version:           0.1.0
 * Requires at least: 5.6
 * Requires PHP:      7.4
 * Author:            EdgeJail contributors
 * License:           GPL-2.0-or-later
 * License URI:       https://www.gnu.org/licenses/gpl-2.0.html
 * Text Domain:       edgejail
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

define( 'EDGEJAIL_PLUGIN_VERSION', '0.1.0' );
define( 'EDGEJAIL_PLUGIN_FILE', __FILE__ );
define( 'EDGEJAIL_PLUGIN_DIR', __DIR__ );

require_once __DIR__ . '/includes/class-edgejail-ip.php';
require_once __DIR__ . '/includes/class-edgejail-cloudflare-ranges.php';
require_once __DIR__ . '/includes/class-edgejail-client-ip.php';
require_once __DIR__ . '/includes/class-edgejail-settings.php';
require_once __DIR__ . '/includes/class-edgejail-event-builder.php';
require_once __DIR__ . '/includes/class-edgejail-status.php';
require_once __DIR__ . '/includes/class-edgejail-spool.php';
require_once __DIR__ . '/includes/class-edgejail-service-response.php';
require_once __DIR__ . '/includes/class-edgejail-transport.php';
require_once __DIR__ . '/includes/class-edgejail-ban-cache.php';
require_once __DIR__ . '/includes/class-edgejail-reporter.php';
require_once __DIR__ . '/includes/class-edgejail-auth-guard.php';
require_once __DIR__ . '/includes/class-edgejail-self-unlock.php';
require_once __DIR__ . '/includes/class-edgejail-login-monitor.php';
require_once __DIR__ . '/includes/class-edgejail-xmlrpc-monitor.php';
require_once __DIR__ . '/includes/class-edgejail-rest-monitor.php';
require_once __DIR__ . '/includes/class-edgejail-enumeration-monitor.php';
require_once __DIR__ . '/includes/class-edgejail-cron.php';
require_once __DIR__ . '/includes/class-edgejail-lifecycle.php';
require_once __DIR__ . '/includes/class-edgejail-plugin.php';

register_activation_hook( __FILE__, array( 'EdgeJail_Lifecycle', 'activate' ) );
register_deactivation_hook( __FILE__, array( 'EdgeJail_Lifecycle', 'deactivate' ) );

EdgeJail_Plugin::instance()->register_hooks();
