<?php
/**
 * XML-RPC: failed logins, system.multicall bundles, pingbacks.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * One system.multicall request can carry hundreds of username/password pairs. It is
 * reported once, as xmlrpc_multicall with weight = the calls in it that carry
 * credentials, and can be refused outright before any password is checked.
 */
class EdgeJail_Xmlrpc_Monitor {

	/** Methods that take no credentials. */
	const NO_AUTH_PREFIXES = array( 'system.', 'pingback.', 'demo.' );
	const NO_AUTH_METHODS  = array( 'mt.supportedMethods', 'mt.supportedTextFilters', 'mt.getTrackbackPings' );

	/**
	 * The plugin.
	 *
	 * @var EdgeJail_Plugin
	 */
	private $plugin;

	/**
	 * Username of the first authentication inside the current multicall.
	 *
	 * @var string|null
	 */
	private $multicall_username = null;

	/**
	 * Whether the current multicall was reported.
	 *
	 * @var bool
	 */
	private $multicall_reported = false;

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
		if ( defined( 'XMLRPC_REQUEST' ) && XMLRPC_REQUEST ) {
			add_action( 'plugins_loaded', array( $this, 'refuse_banned_client' ), 0 );
		}
		add_filter( 'authenticate', array( $this, 'refuse_during_shield' ), 1, 2 );
		add_filter( 'authenticate', array( $this, 'watch_multicall_authentication' ), 2, 3 );
		add_filter( 'xmlrpc_login_error', array( $this, 'report_multicall_failure' ), 10, 2 );
		add_action( 'xmlrpc_call', array( $this, 'report_pingback' ), 10, 1 );
	}

	/**
	 * A banned client gets a 403 before the XML-RPC request is even parsed.
	 */
	public function refuse_banned_client() {
		if ( $this->plugin->is_client_banned() ) {
			$this->plugin->deny( 'xmlrpc' );
		}
		// A multicall is refused whole while the shield is up, before its XML is even parsed.
		if ( null !== $this->plugin->shield_up() && self::raw_request_is_multicall() ) {
			$this->plugin->report( 'xmlrpc_multicall', array( 'error_code' => 'shield_refused' ) );
			$this->plugin->deny( 'xmlrpc_shield', self::shield_message() );
		}
	}

	/**
	 * `authenticate` (priority 1) during XML-RPC: while the login shield is up, every
	 * authentication is refused with 403 before a password is hashed. API clients cannot
	 * pass the challenge at Cloudflare, and attackers reaching the origin directly must
	 * not get what the edge refuses. The attempt is still reported: it keeps the shield up.
	 *
	 * @param WP_User|WP_Error|null $user     Result so far.
	 * @param string                $username Username.
	 * @return WP_User|WP_Error|null
	 */
	public function refuse_during_shield( $user, $username = '' ) {
		if ( ! defined( 'XMLRPC_REQUEST' ) || ! XMLRPC_REQUEST || null === $this->plugin->shield_up() ) {
			return $user;
		}
		$this->plugin->report(
			self::in_multicall() ? 'xmlrpc_multicall' : 'xmlrpc_login_failed',
			array(
				'username'   => is_string( $username ) ? $username : null,
				'error_code' => 'shield_refused',
				'weight'     => max( 1, self::auth_calls_in_multicall() ),
			)
		);
		$this->plugin->deny( 'xmlrpc_shield', self::shield_message() );
		return $user; // Not reached: deny() exits.
	}

	/**
	 * The 403's text while the shield is up.
	 *
	 * @return string
	 */
	private static function shield_message() {
		if ( ! EdgeJail_Plugin::translations_ready() ) {
			return 'Forbidden: this site is under a login attack and refuses XML-RPC logins for now. Log in through wp-login.php, or try again later.';
		}
		return __( 'Forbidden: this site is under a login attack and refuses XML-RPC logins for now. Log in through wp-login.php, or try again later.', 'edgejail' );
	}

	/**
	 * Whether this request's raw XML calls system.multicall (read before core parses it).
	 *
	 * @return bool
	 */
	private static function raw_request_is_multicall() {
		$body = file_get_contents( 'php://input', false, null, 0, 4096 );
		return is_string( $body ) && 1 === preg_match( '#<methodName>\s*system\.multicall\s*</methodName>#i', $body );
	}

	/**
	 * Whether the XML-RPC request being served is a system.multicall.
	 *
	 * @return bool
	 */
	public static function in_multicall() {
		global $wp_xmlrpc_server;
		return isset( $wp_xmlrpc_server->message->methodName ) && 'system.multicall' === $wp_xmlrpc_server->message->methodName;
	}

	/**
	 * Calls inside the current multicall that carry credentials.
	 *
	 * @return int
	 */
	public static function auth_calls_in_multicall() {
		global $wp_xmlrpc_server;
		if ( ! self::in_multicall() || ! isset( $wp_xmlrpc_server->message->params[0] ) || ! is_array( $wp_xmlrpc_server->message->params[0] ) ) {
			return 0;
		}
		$count = 0;
		foreach ( $wp_xmlrpc_server->message->params[0] as $call ) {
			if ( is_array( $call ) && isset( $call['methodName'] ) && is_string( $call['methodName'] ) && self::takes_credentials( $call['methodName'] ) ) {
				++$count;
			}
		}
		return $count;
	}

	/**
	 * Whether an XML-RPC method authenticates.
	 *
	 * @param string $method Method name.
	 * @return bool
	 */
	public static function takes_credentials( $method ) {
		if ( in_array( $method, self::NO_AUTH_METHODS, true ) ) {
			return false;
		}
		foreach ( self::NO_AUTH_PREFIXES as $prefix ) {
			if ( 0 === strpos( $method, $prefix ) ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * `authenticate` (priority 2): remembers who the bundle tries, and refuses the whole
	 * bundle if the site owner chose so, before any password is checked.
	 *
	 * @param WP_User|WP_Error|null $user     Result so far.
	 * @param string                $username Username.
	 * @param string                $password Password.
	 * @return WP_User|WP_Error|null
	 */
	public function watch_multicall_authentication( $user, $username, $password ) {
		if ( ! defined( 'XMLRPC_REQUEST' ) || ! XMLRPC_REQUEST || ! self::in_multicall() ) {
			return $user;
		}
		if ( null === $this->multicall_username && is_string( $username ) ) {
			$this->multicall_username = $username;
		}
		if ( ! $this->plugin->settings()->get( 'refuse_multicall_auth' ) ) {
			return $user;
		}
		$this->report_multicall( 'multicall_refused' );
		global $wp_xmlrpc_server;
		$wp_xmlrpc_server->error( new IXR_Error( 403, __( 'system.multicall requests carrying credentials are refused on this site.', 'edgejail' ) ) );
		exit; // IXR_Server::error() exits already; this only makes it explicit.
	}

	/**
	 * `xmlrpc_login_error`: fires for every failed login() of the request (core fails the
	 * later ones of a multicall without checking them); the bundle is reported once.
	 *
	 * @param IXR_Error $error Error returned to the client, passed through.
	 * @param WP_Error  $user  Why the login failed.
	 * @return IXR_Error
	 */
	public function report_multicall_failure( $error, $user = null ) {
		if ( self::in_multicall() ) {
			$this->report_multicall( $user instanceof WP_Error ? $user->get_error_code() : null );
		}
		return $error;
	}

	/**
	 * `xmlrpc_call`: pingback.ping, the method used for reflection attacks and pingback
	 * spam. All pingbacks of one request become one event.
	 *
	 * @param string $method Method name.
	 */
	public function report_pingback( $method ) {
		if ( 'pingback.ping' === $method ) {
			$this->plugin->report( 'pingback', array(), 'pingback' );
		}
	}

	/**
	 * Reports the current multicall once.
	 *
	 * @param string|null $error_code Why it failed.
	 */
	private function report_multicall( $error_code ) {
		if ( $this->multicall_reported ) {
			return;
		}
		$this->multicall_reported = true;
		$this->plugin->report(
			'xmlrpc_multicall',
			array(
				'username'   => $this->multicall_username,
				'error_code' => $error_code,
				'weight'     => max( 1, self::auth_calls_in_multicall() ),
			)
		);
	}
}
