<?php
/**
 * Activation, deactivation, upgrades and uninstall.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Everything the plugin creates is created here, and removed here.
 */
class EdgeJail_Lifecycle {

	const DB_VERSION        = 1;
	const DB_VERSION_OPTION = 'edgejail_db_version';

	/** Every option the plugin writes. */
	const OPTIONS = array(
		EdgeJail_Settings::OPTION,
		EdgeJail_Status::OPTION,
		EdgeJail_Cloudflare_Ranges::OPTION,
		self::DB_VERSION_OPTION,
		'edgejail_ban_cache_generation', // Where the ban cache's generation was kept before it was shared (0.1.0).
	);

	/** Every site option (network-wide; plain options on a single site). */
	const SITE_OPTIONS = array(
		EdgeJail_Settings::NETWORK_OPTION,
		'edgejail_ban_cache_generation', // EdgeJail_Ban_Cache::GENERATION (not loaded at uninstall).
	);

	/**
	 * Activation hook.
	 *
	 * @param bool $network_wide Activated for the whole network.
	 */
	public static function activate( $network_wide = false ) {
		self::for_each_site( $network_wide, array( __CLASS__, 'install_site' ) );
		EdgeJail_Plugin::instance()->report_hello();
	}

	/**
	 * Deactivation hook: stops the jobs, keeps data (uninstall removes it).
	 *
	 * @param bool $network_wide Deactivated for the whole network.
	 */
	public static function deactivate( $network_wide = false ) {
		self::for_each_site( $network_wide, array( 'EdgeJail_Cron', 'unschedule' ) );
	}

	/**
	 * uninstall.php: removes options, table, cached bans and jobs of every site, then what
	 * the network shares (its settings, the ban cache).
	 */
	public static function uninstall() {
		self::for_each_site( is_multisite(), array( __CLASS__, 'uninstall_site' ) );
		foreach ( self::SITE_OPTIONS as $option ) {
			delete_site_option( $option );
		}
		self::delete_site_transients();
	}

	/**
	 * `wp_initialize_site`: a blog created while the plugin is network-active gets what
	 * network activation gave the others.
	 *
	 * @param WP_Site $site The new blog.
	 */
	public static function initialize_site( $site ) {
		$network_plugins = (array) get_site_option( 'active_sitewide_plugins', array() );
		if ( ! isset( $network_plugins[ plugin_basename( EDGEJAIL_PLUGIN_FILE ) ] ) ) {
			return;
		}
		switch_to_blog( (int) $site->blog_id );
		self::install_site();
		restore_current_blog();
	}

	/**
	 * `admin_init`: brings the table up to date after an update, and re-creates
	 * missing jobs (e.g. after a site migration).
	 */
	public static function maybe_upgrade() {
		if ( (int) get_option( self::DB_VERSION_OPTION ) !== self::DB_VERSION ) {
			self::install_site();
		}
		EdgeJail_Cron::schedule();
	}

	/**
	 * `wpmu_drop_tables`: a deleted blog's spool table goes with WordPress's own (which lists
	 * only core tables).
	 *
	 * @param string[] $tables  Tables WordPress drops.
	 * @param int      $site_id The deleted blog.
	 * @return string[]
	 */
	public static function tables_of_deleted_site( $tables, $site_id ) {
		global $wpdb;
		$tables   = (array) $tables;
		$tables[] = $wpdb->get_blog_prefix( $site_id ) . 'edgejail_spool';
		return $tables;
	}

	/**
	 * Creates what one site needs.
	 */
	public static function install_site() {
		EdgeJail_Spool::create_table();
		// A blog of a network stores only what it sets itself: the rest follows the network.
		add_option( EdgeJail_Settings::OPTION, is_multisite() ? array() : EdgeJail_Settings::defaults(), '', true );
		add_option( EdgeJail_Status::OPTION, EdgeJail_Status::defaults(), '', true );
		// Stored (autoloaded) from the start, so resolving a client IP never costs a query.
		add_option( EdgeJail_Cloudflare_Ranges::OPTION, EdgeJail_Cloudflare_Ranges::bundled(), '', true );
		update_option( self::DB_VERSION_OPTION, self::DB_VERSION, true );
		EdgeJail_Cron::schedule();
	}

	/**
	 * Removes everything from one site.
	 */
	public static function uninstall_site() {
		EdgeJail_Cron::unschedule();
		EdgeJail_Spool::drop_table();
		foreach ( self::OPTIONS as $option ) {
			delete_option( $option );
		}
		self::delete_transients();
		// Pending unlock tokens (user meta is shared by a network's sites; deleting twice is harmless).
		delete_metadata( 'user', 0, '_edgejail_unlock', '', true );
	}

	/**
	 * Deletes every edgejail_* transient kept in the options table (cached bans, the
	 * last connection test). With an external object cache they expire on their own.
	 */
	private static function delete_transients() {
		global $wpdb;
		$wpdb->query(
			$wpdb->prepare(
				"DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s",
				$wpdb->esc_like( '_transient_edgejail_' ) . '%',
				$wpdb->esc_like( '_transient_timeout_edgejail_' ) . '%'
			)
		);
		wp_cache_delete( 'alloptions', 'options' );
	}

	/**
	 * Deletes the network's shared transients (the ban cache): in the sitemeta table of a
	 * network, in the options table of a single site.
	 */
	private static function delete_site_transients() {
		global $wpdb;
		$like    = $wpdb->esc_like( '_site_transient_edgejail_' ) . '%';
		$timeout = $wpdb->esc_like( '_site_transient_timeout_edgejail_' ) . '%';
		if ( is_multisite() ) {
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->sitemeta} WHERE site_id = %d AND ( meta_key LIKE %s OR meta_key LIKE %s )", get_current_network_id(), $like, $timeout ) );
		} else {
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s", $like, $timeout ) );
		}
		wp_cache_flush();
	}

	/**
	 * Runs $callback for the current site, or for every site of the network.
	 *
	 * @param bool     $all_sites Whether to visit every site.
	 * @param callable $callback  Work.
	 */
	private static function for_each_site( $all_sites, $callback ) {
		if ( ! $all_sites || ! is_multisite() ) {
			call_user_func( $callback );
			return;
		}
		foreach ( get_sites( array( 'fields' => 'ids', 'number' => 0 ) ) as $site_id ) {
			switch_to_blog( $site_id );
			call_user_func( $callback );
			restore_current_blog();
		}
	}
}
