<?php
/**
 * Installs the wp-env WordPress (wp_install() on the empty database) and activates the
 * plugin, as a site owner would from the dashboard. Used by scripts/wp-env.sh.
 *
 * php scripts/wp-install.php install|activate|deactivate   (WP_ENV_* from the environment)
 */

$edgejail_step = isset( $argv[1] ) ? $argv[1] : '';
$_SERVER['HTTP_HOST']   = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_NAME'] = '127.0.0.1';
$_SERVER['SERVER_PORT'] = '80';

if ( 'install' === $edgejail_step ) {
	define( 'WP_INSTALLING', true );
	require getenv( 'WP_ENV_ROOT' ) . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	if ( ! is_blog_installed() ) {
		$result = wp_install( 'EdgeJail test site', getenv( 'WP_ENV_ADMIN_USER' ), 'siteadmin@example.test', false, '', wp_slash( getenv( 'WP_ENV_ADMIN_PASSWORD' ) ) );
		if ( empty( $result['user_id'] ) ) {
			fwrite( STDERR, "wp_install() failed\n" );
			exit( 1 );
		}
	}
	if ( ! get_user_by( 'login', getenv( 'WP_ENV_USER' ) ) ) {
		$user_id = wp_insert_user(
			array(
				'user_login' => getenv( 'WP_ENV_USER' ),
				'user_pass'  => getenv( 'WP_ENV_PASSWORD' ),
				'user_email' => 'alice@example.test',
				'role'       => 'author',
			)
		);
		if ( is_wp_error( $user_id ) ) {
			fwrite( STDERR, 'creating the test user failed: ' . $user_id->get_error_message() . "\n" );
			exit( 1 );
		}
	}
	exit( 0 );
}

if ( 'activate' === $edgejail_step ) {
	require getenv( 'WP_ENV_ROOT' ) . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/plugin.php';
	$result = activate_plugin( 'edgejail/edgejail.php' );
	if ( is_wp_error( $result ) ) {
		fwrite( STDERR, 'activating the plugin failed: ' . $result->get_error_message() . "\n" );
		exit( 1 );
	}
	exit( 0 );
}

if ( 'deactivate' === $edgejail_step ) {
	require getenv( 'WP_ENV_ROOT' ) . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/plugin.php';
	deactivate_plugins( 'edgejail/edgejail.php' );
	exit( is_plugin_active( 'edgejail/edgejail.php' ) ? 1 : 0 );
}

fwrite( STDERR, "usage: php scripts/wp-install.php install|activate|deactivate\n" );
exit( 2 );
