<?php
/**
 * WP-Cron jobs: flush the spool, refresh Cloudflare's ranges.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Scheduling and the two jobs.
 */
class EdgeJail_Cron {

	const FLUSH_HOOK  = 'edgejail_flush_spool';
	const RANGES_HOOK = 'edgejail_refresh_cloudflare_ranges';
	const SCHEDULE    = 'edgejail_five_minutes';

	/**
	 * The plugin.
	 *
	 * @var EdgeJail_Plugin
	 */
	private $plugin;

	/**
	 * Constructor.
	 *
	 * @param EdgeJail_Plugin $plugin The plugin.
	 */
	public function __construct( EdgeJail_Plugin $plugin ) {
		$this->plugin = $plugin;
	}

	/**
	 * Hooks.
	 */
	public function register_hooks() {
		add_filter( 'cron_schedules', array( __CLASS__, 'add_schedule' ) ); // phpcs:ignore WordPress.WP.CronInterval.ChangeDetected -- five minutes is intended.
		add_action( self::FLUSH_HOOK, array( $this, 'flush_spool' ) );
		add_action( self::RANGES_HOOK, array( $this, 'refresh_cloudflare_ranges' ) );
	}

	/**
	 * `cron_schedules`.
	 *
	 * @param array $schedules Schedules.
	 * @return array
	 */
	public static function add_schedule( $schedules ) {
		$schedules[ self::SCHEDULE ] = array(
			'interval' => 5 * MINUTE_IN_SECONDS,
			'display'  => __( 'Every five minutes (EdgeJail)', 'edgejail' ),
		);
		return $schedules;
	}

	/**
	 * Schedules both jobs if they are not.
	 */
	public static function schedule() {
		add_filter( 'cron_schedules', array( __CLASS__, 'add_schedule' ) );
		if ( ! wp_next_scheduled( self::FLUSH_HOOK ) ) {
			wp_schedule_event( time() + MINUTE_IN_SECONDS, self::SCHEDULE, self::FLUSH_HOOK );
		}
		if ( ! wp_next_scheduled( self::RANGES_HOOK ) ) {
			wp_schedule_event( time() + HOUR_IN_SECONDS, 'daily', self::RANGES_HOOK );
		}
	}

	/**
	 * Removes both jobs.
	 */
	public static function unschedule() {
		wp_clear_scheduled_hook( self::FLUSH_HOOK );
		wp_clear_scheduled_hook( self::RANGES_HOOK );
	}

	/**
	 * Job: deliver what the spool holds (respecting the backoff).
	 */
	public function flush_spool() {
		$this->plugin->reporter()->flush_spool( false );
	}

	/**
	 * Job: fetch Cloudflare's current ranges from the service.
	 */
	public function refresh_cloudflare_ranges() {
		if ( ! $this->plugin->settings()->is_configured() ) {
			return;
		}
		$result = $this->plugin->cloudflare_ranges()->refresh( $this->plugin->transport() );
		if ( is_wp_error( $result ) ) {
			$status = $this->plugin->status();
			$status->record_error( 'Cloudflare ranges not refreshed (bundled list kept): ' . $result->get_error_message() );
			$status->save();
		}
	}
}
