<?php
/**
 * Loads the wp-env WordPress (scripts/wp-env.sh) with the plugin active, and starts the
 * stand-in service and a `php -S` server for the same site.
 */

$edgejail_root = getenv( 'WP_ENV_ROOT' );
if ( ! $edgejail_root || ! is_file( $edgejail_root . '/wp-load.php' ) ) {
	fwrite( STDERR, "WP_ENV_ROOT is not set: run test/wp/run.sh (it sets up WordPress with scripts/wp-env.sh)\n" );
	exit( 1 );
}

require __DIR__ . '/support/class-background-server.php';
require __DIR__ . '/support/class-capture-service.php';

$edgejail_state = getenv( 'WP_ENV_DIR' ) . '/phpunit';
if ( ! is_dir( $edgejail_state ) ) {
	mkdir( $edgejail_state, 0700, true );
}

$_SERVER['HTTP_HOST']       = '127.0.0.1';
$_SERVER['SERVER_NAME']     = '127.0.0.1';
$_SERVER['SERVER_PORT']     = '80';
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REMOTE_ADDR']     = '203.0.113.7';
$_SERVER['HTTP_USER_AGENT'] = 'EdgeJail-Test/1.0';

require $edgejail_root . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
require_once ABSPATH . WPINC . '/class-IXR.php';

if ( ! is_plugin_active( 'edgejail/edgejail.php' ) || ! class_exists( 'EdgeJail_Plugin' ) ) {
	fwrite( STDERR, "the EdgeJail plugin is not active in $edgejail_root\n" );
	exit( 1 );
}

require __DIR__ . '/support/class-edgejail-test-case.php';

// Logins in this process must not try to send cookies after PHPUnit's output began.
add_filter( 'send_auth_cookies', '__return_false' );

EdgeJail_Test_Case::$capture = new EdgeJail_Test_Capture_Service( $edgejail_state . '/capture' );
EdgeJail_Test_Case::$capture->server->start();
EdgeJail_Test_Case::$site = new EdgeJail_Test_Background_Server(
	array( '-t', $edgejail_root, dirname( __DIR__, 2 ) . '/scripts/wp-router.php' ),
	array(),
	$edgejail_state . '/site-server.log'
);
EdgeJail_Test_Case::$site->start();

register_shutdown_function(
	function () {
		EdgeJail_Test_Case::$capture->server->stop();
		EdgeJail_Test_Case::$site->stop();
	}
);
