<?php
/**
 * REST API authentication failures (application passwords and other schemes).
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Application passwords are checked outside wp_authenticate() for REST requests, so
 * wp_login_failed never sees them; they have their own action.
 */
class EdgeJail_Rest_Monitor {

	/**
	 * The plugin.
	 *
	 * @var EdgeJail_Plugin
	 */
	private $plugin;

	/**
	 * Whether this request's authentication failure was reported.
	 *
	 * @var bool
	 */
	private $reported = false;

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
		add_filter( 'determine_current_user', array( $this, 'refuse_banned_credentials' ), 5 );
		add_action( 'application_password_failed_authentication', array( $this, 'report_app_password_failure' ), 10, 1 );
		add_filter( 'rest_authentication_errors', array( $this, 'report_rest_auth_failure' ), 1000 );
	}

	/**
	 * `determine_current_user` (before core checks application passwords at 20): a banned
	 * client sending credentials gets a 403 before any hash is computed.
	 *
	 * @param int|false $user_id User found so far.
	 * @return int|false
	 */
	public function refuse_banned_credentials( $user_id ) {
		if ( empty( $user_id ) && self::has_credentials( $_SERVER ) && $this->plugin->is_client_banned() ) {
			$this->plugin->deny( 'rest' );
		}
		return $user_id;
	}

	/**
	 * `application_password_failed_authentication`.
	 *
	 * @param WP_Error $error Why it failed.
	 */
	public function report_app_password_failure( $error ) {
		if ( defined( 'XMLRPC_REQUEST' ) && XMLRPC_REQUEST ) {
			return; // XML-RPC goes through wp_authenticate(): wp_login_failed reports it.
		}
		$this->reported = true;
		$this->plugin->report(
			'app_password_failed',
			array(
				'username'   => self::basic_auth_user( $_SERVER ),
				'error_code' => $error instanceof WP_Error ? $error->get_error_code() : null,
			)
		);
	}

	/**
	 * `rest_authentication_errors` (last): credentials were sent and some scheme refused them.
	 *
	 * @param WP_Error|null|true $result Authentication result.
	 * @return WP_Error|null|true
	 */
	public function report_rest_auth_failure( $result ) {
		if ( ! is_wp_error( $result ) || $this->reported || ! self::has_credentials( $_SERVER ) ) {
			return $result;
		}
		$code = $result->get_error_code();
		if ( 'rest_cookie_invalid_nonce' === $code ) {
			return $result; // A logged-in user's stale nonce, not a guess.
		}
		$this->reported = true;
		$this->plugin->report(
			'rest_auth_failed',
			array(
				'username'   => self::basic_auth_user( $_SERVER ),
				'error_code' => $code,
			)
		);
		return $result;
	}

	/**
	 * Whether the request carries credentials in a header.
	 *
	 * @param array $server $_SERVER.
	 * @return bool
	 */
	public static function has_credentials( array $server ) {
		return ! empty( $server['PHP_AUTH_USER'] ) || ! empty( $server['HTTP_AUTHORIZATION'] ) || ! empty( $server['REDIRECT_HTTP_AUTHORIZATION'] );
	}

	/**
	 * The username of HTTP Basic credentials, if any.
	 *
	 * @param array $server $_SERVER.
	 * @return string|null
	 */
	public static function basic_auth_user( array $server ) {
		if ( isset( $server['PHP_AUTH_USER'] ) && is_string( $server['PHP_AUTH_USER'] ) && '' !== $server['PHP_AUTH_USER'] ) {
			return $server['PHP_AUTH_USER'];
		}
		foreach ( array( 'HTTP_AUTHORIZATION', 'REDIRECT_HTTP_AUTHORIZATION' ) as $header ) {
			if ( isset( $server[ $header ] ) && is_string( $server[ $header ] ) && 0 === stripos( $server[ $header ], 'basic ' ) ) {
				$decoded = base64_decode( substr( $server[ $header ], 6 ), true ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_decode -- HTTP Basic.
				if ( false !== $decoded && false !== strpos( $decoded, ':' ) ) {
					return substr( $decoded, 0, strpos( $decoded, ':' ) );
				}
			}
		}
		return null;
	}
}
