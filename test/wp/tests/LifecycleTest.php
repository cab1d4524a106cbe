<?php
/**
 * Activation, deactivation and uninstall through WordPress's own plugin functions.
 */
class LifecycleTest extends EdgeJail_Test_Case {

	const PLUGIN = 'edgejail/edgejail.php';

	protected function tearDown(): void {
		if ( ! is_plugin_active( self::PLUGIN ) ) {
			activate_plugin( self::PLUGIN );
		}
		parent::tearDown();
	}

	private static function edgejail_options() {
		global $wpdb;
		return $wpdb->get_col( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE '%edgejail%'" );
	}

	private static function spool_table_exists() {
		global $wpdb;
		return EdgeJail_Spool::table() === $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', EdgeJail_Spool::table() ) );
	}

	private static function edgejail_cron_hooks() {
		$hooks = array();
		foreach ( (array) _get_cron_array() as $events ) {
			foreach ( (array) $events as $hook => $unused ) {
				if ( 0 === strpos( $hook, 'edgejail' ) ) {
					$hooks[] = $hook;
				}
			}
		}
		sort( $hooks );
		return $hooks;
	}

	public function test_activation_creates_table_options_and_jobs_and_says_hello() {
		deactivate_plugins( self::PLUGIN );
		$this->assertSame( array(), self::edgejail_cron_hooks(), 'deactivation removes the jobs' );
		$this->assertTrue( self::spool_table_exists(), 'deactivation keeps the data' );

		$this->assertNull( activate_plugin( self::PLUGIN ) );

		$this->assertTrue( self::spool_table_exists() );
		$this->assertSame( array( EdgeJail_Cron::FLUSH_HOOK, EdgeJail_Cron::RANGES_HOOK ), self::edgejail_cron_hooks() );
		$this->assertSame( EdgeJail_Cron::SCHEDULE, wp_get_schedule( EdgeJail_Cron::FLUSH_HOOK ) );
		$this->assertSame( 'daily', wp_get_schedule( EdgeJail_Cron::RANGES_HOOK ) );
		$this->assertSame( '1', (string) get_option( EdgeJail_Lifecycle::DB_VERSION_OPTION ) );
		global $wpdb;
		$autoload = $wpdb->get_col( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE 'edgejail%' AND autoload IN ('yes', 'on', 'auto-on') ORDER BY option_name" );
		$this->assertSame( array( 'edgejail_cloudflare_ranges', 'edgejail_db_version', 'edgejail_settings', 'edgejail_status' ), $autoload, 'everything a request needs comes with alloptions' );
		$this->assertSame( 'sent', $this->deliver() );
		$this->assertSame( array( 'hello' ), array_column( self::$capture->events(), 'type' ) );
		$this->assertTrue( self::$capture->requests()[0]['signature_valid'] );
	}

	public function test_uninstall_leaves_no_option_table_transient_or_job_behind() {
		// Leave some of everything behind first.
		self::$capture->server->stop();
		$this->signon( 'spooled', 'x' );
		$this->deliver();
		EdgeJail_Plugin::instance()->ban_cache()->remember( array( array( 'ip' => '192.0.2.9', 'ip_key' => '192.0.2.9', 'jail' => 'x', 'banned_until' => gmdate( 'c', time() + 600 ) ) ) );
		set_transient( EdgeJail_Admin_Page_Name::TEST_RESULT . '1', array( 'ok' => true, 'message' => 'x' ), 60 );
		update_option( EdgeJail_Cloudflare_Ranges::OPTION, array( 'ipv4' => array( '192.0.2.0/24' ), 'ipv6' => array( '2001:db8::/32' ), 'fetched_at' => time() ) );
		EdgeJail_Plugin::instance()->ban_cache()->clear(); // Leaves the cache generation option.
		$admin = get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) );
		update_user_meta( $admin->ID, '_edgejail_unlock', array( 'hash' => 'x', 'expires' => time() + 900, 'ip' => '192.0.2.9' ) );
		$this->assertSame( 1, $this->spool_count() );
		$this->assertNotEmpty( self::edgejail_options() );

		deactivate_plugins( self::PLUGIN );
		uninstall_plugin( self::PLUGIN );

		$this->assertSame( array(), self::edgejail_options() );
		wp_cache_delete( $admin->ID, 'user_meta' );
		$this->assertSame( '', get_user_meta( $admin->ID, '_edgejail_unlock', true ), 'no pending unlock token is left' );
		$this->assertFalse( self::spool_table_exists() );
		$this->assertSame( array(), self::edgejail_cron_hooks() );
	}
}

/**
 * The admin page's transient prefix, without loading the admin page class here.
 */
final class EdgeJail_Admin_Page_Name {
	const TEST_RESULT = 'edgejail_connection_test_';
}
