<?php
/**
 * Installs the wp-env WordPress (wp_install() on the empty database) and activates the
 * plugin, as a site owner would from the dashboard. Used by scripts/wp-env.sh.
 *
 * php scripts/wp-install.php install|activate|deactivate   (WP_ENV_* from the environment)
 *
 * A multisite network (WP_ENV_MULTISITE=1), as Tools > Network Setup makes one:
 *   network           turns the installed site into a subdirectory network (its tables and site options)
 *   blogs             (wp-config.php now says MULTISITE) adds the blog /second/
 *   activate-network  network-activates the plugin, as Network Admin > Plugins does
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

if ( 'network' === $edgejail_step ) {
	define( 'WP_INSTALLING_NETWORK', true );
	require getenv( 'WP_ENV_ROOT' ) . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/upgrade.php';
	require_once ABSPATH . 'wp-admin/includes/network.php';
	global $wpdb;
	foreach ( $wpdb->tables( 'ms_global' ) as $edgejail_table => $edgejail_prefixed ) {
		$wpdb->$edgejail_table = $edgejail_prefixed;
	}
	install_network();
	$edgejail_admin = get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) );
	$result         = populate_network( 1, '127.0.0.1', $edgejail_admin->user_email, 'EdgeJail test network', '/', false );
	if ( is_wp_error( $result ) ) {
		fwrite( STDERR, 'populate_network() failed: ' . $result->get_error_message() . "\n" );
		exit( 1 );
	}
	exit( 0 );
}

if ( 'blogs' === $edgejail_step ) {
	require getenv( 'WP_ENV_ROOT' ) . '/wp-load.php';
	if ( ! is_multisite() ) {
		fwrite( STDERR, "wp-config.php does not say MULTISITE\n" );
		exit( 1 );
	}
	$edgejail_admin = get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) );
	if ( ! domain_exists( '127.0.0.1', '/second/' ) ) { // get_site_by_path() would answer with the main blog, whose / is a prefix.
		$result = wpmu_create_blog( '127.0.0.1', '/second/', 'EdgeJail second blog', $edgejail_admin->ID );
		if ( is_wp_error( $result ) ) {
			fwrite( STDERR, 'creating the blog /second/ failed: ' . $result->get_error_message() . "\n" );
			exit( 1 );
		}
	}
	exit( 0 );
}

if ( 'activate-network' === $edgejail_step ) {
	require getenv( 'WP_ENV_ROOT' ) . '/wp-load.php';
	require_once ABSPATH . 'wp-admin/includes/plugin.php';
	$result = activate_plugin( 'edgejail/edgejail.php', '', true );
	if ( is_wp_error( $result ) ) {
		fwrite( STDERR, 'network-activating the plugin failed: ' . $result->get_error_message() . "\n" );
		exit( 1 );
	}
	exit( is_plugin_active_for_network( 'edgejail/edgejail.php' ) ? 0 : 1 );
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

fwrite( STDERR, "usage: php scripts/wp-install.php install|activate|deactivate|network|blogs|activate-network\n" );
exit( 2 );
