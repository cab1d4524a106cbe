<?php
/**
 * Wires the parts together; every hook the plugin uses is registered from here.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * The plugin's single instance and the services it shares.
 */
final class EdgeJail_Plugin {

	/**
	 * The instance.
	 *
	 * @var EdgeJail_Plugin|null
	 */
	private static $instance = null;

	/** Seconds after which a cached ban is checked with the service before it is enforced. */
	const SYNC_AFTER = 60;

	/** Transient held while one request syncs, and how long it keeps others from trying. */
	const SYNC_CLAIM         = 'edgejail_sync_claim';
	const SYNC_CLAIM_SECONDS = 10;

	/**
	 * Settings.
	 *
	 * @var EdgeJail_Settings
	 */
	private $settings;

	/**
	 * Delivery state.
	 *
	 * @var EdgeJail_Status
	 */
	private $status;

	/**
	 * Local store.
	 *
	 * @var EdgeJail_Spool
	 */
	private $spool;

	/**
	 * HTTP client.
	 *
	 * @var EdgeJail_Transport
	 */
	private $transport;

	/**
	 * Origin ban cache.
	 *
	 * @var EdgeJail_Ban_Cache
	 */
	private $ban_cache;

	/**
	 * Cloudflare ranges.
	 *
	 * @var EdgeJail_Cloudflare_Ranges
	 */
	private $cloudflare_ranges;

	/**
	 * Event queue of this request.
	 *
	 * @var EdgeJail_Reporter
	 */
	private $reporter;

	/**
	 * Early authentication failures.
	 *
	 * @var EdgeJail_Auth_Guard
	 */
	private $auth_guard;

	/**
	 * Self-unlock for the site's own users.
	 *
	 * @var EdgeJail_Self_Unlock
	 */
	private $self_unlock;

	/**
	 * Whether hooks are registered.
	 *
	 * @var bool
	 */
	private $registered = false;

	/**
	 * The instance.
	 *
	 * @return EdgeJail_Plugin
	 */
	public static function instance() {
		if ( null === self::$instance ) {
			self::$instance = new self();
		}
		return self::$instance;
	}

	/**
	 * Builds the shared services (cheap: nothing is read until used).
	 */
	private function __construct() {
		$this->settings          = new EdgeJail_Settings();
		$this->status            = new EdgeJail_Status();
		$this->spool             = new EdgeJail_Spool();
		$this->transport         = new EdgeJail_Transport( $this->settings );
		$this->ban_cache         = new EdgeJail_Ban_Cache();
		$this->cloudflare_ranges = new EdgeJail_Cloudflare_Ranges();
		$this->reporter          = new EdgeJail_Reporter( $this->settings, $this->status, $this->spool, $this->transport, $this->ban_cache );
		$this->auth_guard        = new EdgeJail_Auth_Guard();
		$this->self_unlock       = new EdgeJail_Self_Unlock( $this );
	}

	/**
	 * Registers every hook.
	 */
	public function register_hooks() {
		if ( $this->registered ) {
			return;
		}
		$this->registered = true;

		( new EdgeJail_Login_Monitor( $this ) )->register_hooks();
		( new EdgeJail_Xmlrpc_Monitor( $this ) )->register_hooks();
		( new EdgeJail_Rest_Monitor( $this ) )->register_hooks();
		( new EdgeJail_Enumeration_Monitor( $this ) )->register_hooks();
		( new EdgeJail_Cron( $this ) )->register_hooks();

		add_action( 'add_option_' . EdgeJail_Settings::OPTION, array( $this, 'settings_changed' ) );
		add_action( 'update_option_' . EdgeJail_Settings::OPTION, array( $this, 'settings_changed' ) );
		add_action( 'update_option_' . EdgeJail_Cloudflare_Ranges::OPTION, array( $this->cloudflare_ranges, 'reset' ) );
		if ( is_multisite() ) {
			// After WordPress's own tables of the new blog exist (priority 10).
			add_action( 'wp_initialize_site', array( 'EdgeJail_Lifecycle', 'initialize_site' ), 100 );
			add_filter( 'wpmu_drop_tables', array( 'EdgeJail_Lifecycle', 'tables_of_deleted_site' ), 10, 2 );
			add_action( 'update_site_option_' . EdgeJail_Settings::NETWORK_OPTION, array( $this->settings, 'refresh' ) );
			add_action( 'add_site_option_' . EdgeJail_Settings::NETWORK_OPTION, array( $this->settings, 'refresh' ) );
			// Code that switches blogs (network plugins, WP-CLI) reports with that blog's settings.
			add_action( 'switch_blog', array( $this, 'blog_switched' ) );
		}

		if ( is_admin() ) {
			require_once EDGEJAIL_PLUGIN_DIR . '/includes/class-edgejail-admin-page.php';
			add_action( 'admin_init', array( 'EdgeJail_Lifecycle', 'maybe_upgrade' ) );
			( new EdgeJail_Admin_Page( $this ) )->register_hooks();
			if ( is_multisite() ) {
				require_once EDGEJAIL_PLUGIN_DIR . '/includes/class-edgejail-network-admin-page.php';
				( new EdgeJail_Network_Admin_Page() )->register_hooks();
			}
		}
	}

	/**
	 * Settings were saved: use them, and introduce the site to the (maybe new) service.
	 */
	public function settings_changed() {
		$this->settings->refresh();
		$this->report_hello();
	}

	/**
	 * `switch_blog`: the settings and Cloudflare ranges are the new blog's (its status is
	 * kept: it may hold what this request has not saved yet).
	 */
	public function blog_switched() {
		$this->settings->refresh();
		$this->cloudflare_ranges->reset();
	}

	/**
	 * Queues the hello event, if the plugin is configured.
	 */
	public function report_hello() {
		$this->settings->refresh();
		if ( $this->settings->is_configured() ) {
			// The service keeps one URL per site id (and finds the site's Cloudflare hostname by it):
			// under the network's id that is the network's, whichever blog says hello.
			$url = $this->settings->reports_for_network() ? network_home_url( '/' ) : null;
			$this->reporter->record( EdgeJail_Event_Builder::hello( $url ), 'hello' );
		}
	}

	/**
	 * Queues an attempt event for this request's batch. Does nothing when the plugin is
	 * not configured or the request has no client address (WP-CLI, cron).
	 *
	 * @param string      $type          Event type.
	 * @param array       $fields        username, error_code, weight, path.
	 * @param string|null $aggregate_key Same key in one request: one event, weights added.
	 */
	public function report( $type, array $fields = array(), $aggregate_key = null ) {
		if ( ! $this->settings->is_configured() ) {
			return;
		}
		$ip = $this->client_ip();
		if ( null === $ip ) {
			return;
		}
		$this->reporter->record( EdgeJail_Event_Builder::attempt( $type, $ip, $fields, $_SERVER ), $aggregate_key );
	}

	/**
	 * The real client address of this request.
	 *
	 * @return string|null
	 */
	public function client_ip() {
		return $this->client_ip_resolver()->resolve( $_SERVER );
	}

	/**
	 * The resolver of client addresses, with this site's trusted proxies.
	 *
	 * @return EdgeJail_Client_Ip
	 */
	public function client_ip_resolver() {
		$trusted = array();
		foreach ( $this->settings->get( 'trusted_proxies' ) as $cidr ) {
			$range = EdgeJail_Ip::parse_cidr( $cidr );
			if ( null !== $range ) {
				$trusted[] = $range;
			}
		}
		return new EdgeJail_Client_Ip( $this->cloudflare_ranges->parsed(), $trusted );
	}

	/**
	 * Whether the service has banned this request's client (origin fallback).
	 *
	 * @return bool
	 */
	public function is_client_banned() {
		if ( ! $this->settings->get( 'origin_bans' ) ) {
			return false;
		}
		$ip = $this->client_ip();
		if ( null === $ip || ! $this->ban_cache->is_banned( $ip ) ) {
			return false;
		}
		// Refusing on an answer older than a minute could be refusing an owner the service
		// already unbanned: ask first (one request per minute at most, whatever the load).
		if ( time() - (int) $this->status->get( 'last_synced_at' ) >= self::SYNC_AFTER && $this->claim_sync() ) {
			$this->reporter->sync();
			return $this->ban_cache->is_banned( $ip );
		}
		return true;
	}

	/**
	 * Lets one request of many concurrent ones sync.
	 *
	 * @return bool Whether this request may.
	 */
	private function claim_sync() {
		if ( false !== get_transient( self::SYNC_CLAIM ) ) {
			return false;
		}
		set_transient( self::SYNC_CLAIM, time(), self::SYNC_CLAIM_SECONDS );
		return true;
	}

	/**
	 * The login shield as the service last said, or null when it is down.
	 *
	 * @return array|null up, since, until, reason.
	 */
	public function shield_up() {
		return $this->settings->is_configured() ? $this->status->shield_up() : null;
	}

	/**
	 * Ends the request with 403, before WordPress does any real work.
	 *
	 * @param string      $where   What was refused (wp-login, xmlrpc, xmlrpc_shield, rest, user_enumeration).
	 * @param string|null $message Text of the answer; the ban's by default.
	 */
	public function deny( $where, $message = null ) {
		/**
		 * Fires just before EdgeJail answers 403 and exits.
		 *
		 * @param string $where What was refused.
		 */
		do_action( 'edgejail_deny', $where );
		if ( 'wp-login' === $where && $this->self_unlock->enabled() ) {
			$this->self_unlock->deny_page(); // Exits: the 403 offers "Locked out? Get an unlock link".
		}
		if ( ! headers_sent() ) {
			status_header( 403 );
			nocache_headers();
			header( 'Content-Type: text/plain; charset=utf-8' );
		}
		if ( null === $message ) {
			$message = self::translations_ready() ? __( 'Forbidden: too many failed attempts from your address.', 'edgejail' ) : 'Forbidden: too many failed attempts from your address.';
		}
		echo esc_html( $message );
		exit;
	}

	/**
	 * Whether __() may run: WordPress 6.7+ refuses (with a notice) to load a plugin's
	 * translations before `after_setup_theme`, where the XML-RPC 403 to a banned client is
	 * answered, on purpose as early as a plugin can. That answer, to a bot, is then English.
	 *
	 * @return bool
	 */
	public static function translations_ready() {
		return did_action( 'after_setup_theme' ) || doing_action( 'after_setup_theme' );
	}

	/**
	 * Settings.
	 *
	 * @return EdgeJail_Settings
	 */
	public function settings() {
		return $this->settings;
	}

	/**
	 * Delivery state.
	 *
	 * @return EdgeJail_Status
	 */
	public function status() {
		return $this->status;
	}

	/**
	 * Local store.
	 *
	 * @return EdgeJail_Spool
	 */
	public function spool() {
		return $this->spool;
	}

	/**
	 * HTTP client.
	 *
	 * @return EdgeJail_Transport
	 */
	public function transport() {
		return $this->transport;
	}

	/**
	 * Origin ban cache.
	 *
	 * @return EdgeJail_Ban_Cache
	 */
	public function ban_cache() {
		return $this->ban_cache;
	}

	/**
	 * Cloudflare ranges.
	 *
	 * @return EdgeJail_Cloudflare_Ranges
	 */
	public function cloudflare_ranges() {
		return $this->cloudflare_ranges;
	}

	/**
	 * This request's event queue.
	 *
	 * @return EdgeJail_Reporter
	 */
	public function reporter() {
		return $this->reporter;
	}

	/**
	 * Self-unlock.
	 *
	 * @return EdgeJail_Self_Unlock
	 */
	public function self_unlock() {
		return $this->self_unlock;
	}

	/**
	 * Early authentication failures.
	 *
	 * @return EdgeJail_Auth_Guard
	 */
	public function auth_guard() {
		return $this->auth_guard;
	}
}
