<?php
/**
 * wp-login.php and every login that goes through wp_authenticate() (WooCommerce, XML-RPC).
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Reports failed and successful logins, blocked usernames and lost-password requests
 * for unknown users; refuses banned IPs and blocked usernames before a hash is spent.
 */
class EdgeJail_Login_Monitor {

	/** Error codes of attempts this plugin stopped itself (reported elsewhere, or not at all). */
	const BANNED_CODE   = 'edgejail_banned';
	const BLOCKED_CODE  = 'edgejail_blocked_username';
	const REFUSED_CODE  = 'edgejail_multicall_refused';

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
		if ( isset( $GLOBALS['pagenow'] ) && 'wp-login.php' === $GLOBALS['pagenow'] ) {
			// Before init and anything that hashes a password, but not before after_setup_theme:
			// the 403 and the unlock form are for people, and WordPress 6.7+ loads no
			// translations before that.
			add_action( 'after_setup_theme', array( $this, 'refuse_banned_client' ), 0 );
		}
		add_action( 'login_init', array( $this, 'refuse_banned_client' ), 0 );
		add_filter( 'authenticate', array( $this, 'stop_banned_or_blocked' ), 1, 3 );
		add_action( 'wp_login_failed', array( $this, 'report_failure' ), 10, 2 );
		add_action( 'wp_login', array( $this, 'report_success' ), 10, 2 );
		add_action( 'lostpassword_post', array( $this, 'report_unknown_lostpassword' ), 10, 2 );
	}

	/**
	 * `after_setup_theme` on wp-login.php, and `login_init` for login pages that load
	 * wp-login.php some other way: a banned client gets a 403 before it does anything.
	 */
	public function refuse_banned_client() {
		// wp-login.php?edgejail-unlock (the unlock form and link) is served to banned clients too.
		$this->plugin->self_unlock()->maybe_handle();
		if ( $this->plugin->is_client_banned() ) {
			$this->plugin->deny( 'wp-login' );
		}
	}

	/**
	 * `authenticate` (priority 1): fail banned clients and blocked usernames before
	 * core's password check runs.
	 *
	 * @param WP_User|WP_Error|null $user     Result so far.
	 * @param string                $username Username or email.
	 * @param string                $password Password.
	 * @return WP_User|WP_Error|null
	 */
	public function stop_banned_or_blocked( $user, $username, $password ) {
		if ( $user instanceof WP_User || ! is_string( $username ) || '' === $username || '' === (string) $password ) {
			return $user;
		}
		if ( $this->plugin->is_client_banned() ) {
			return $this->plugin->auth_guard()->fail_early( new WP_Error( self::BANNED_CODE, __( '<strong>Error:</strong> Too many failed login attempts from your address. Try again later.', 'edgejail' ) ) );
		}
		$blocked = $this->plugin->settings()->get( 'blocked_usernames' );
		if ( ! empty( $blocked ) && in_array( EdgeJail_Settings::fold_username( $username ), $blocked, true ) ) {
			// Same wording as a wrong password: the attacker learns nothing.
			return $this->plugin->auth_guard()->fail_early( new WP_Error( self::BLOCKED_CODE, __( '<strong>Error:</strong> The username or password you entered is incorrect.', 'edgejail' ) ) );
		}
		return $user;
	}

	/**
	 * `wp_login_failed`: every failed wp_authenticate(), whoever called it.
	 *
	 * @param string        $username Username or email as submitted.
	 * @param WP_Error|null $error    Why it failed (WordPress 5.4+).
	 */
	public function report_failure( $username, $error = null ) {
		$code = $error instanceof WP_Error ? $error->get_error_code() : null;
		if ( self::BANNED_CODE === $code || self::REFUSED_CODE === $code ) {
			return;
		}
		$type = 'login_failed';
		if ( self::BLOCKED_CODE === $code ) {
			$type = 'blocked_username';
		} elseif ( defined( 'XMLRPC_REQUEST' ) && XMLRPC_REQUEST ) {
			if ( EdgeJail_Xmlrpc_Monitor::in_multicall() ) {
				return; // The whole bundle is reported once, with its weight.
			}
			$type = 'xmlrpc_login_failed';
		}
		$this->plugin->report(
			$type,
			array(
				'username'   => $username,
				'error_code' => $code,
			)
		);
	}

	/**
	 * `wp_login`: lets the service forgive a typo.
	 *
	 * @param string  $user_login Login name.
	 * @param WP_User $user       User.
	 */
	public function report_success( $user_login, $user = null ) {
		if ( $this->plugin->settings()->get( 'report_successful_logins' ) ) {
			$this->plugin->report( 'login_succeeded', array( 'username' => $user_login ) );
		}
	}

	/**
	 * `lostpassword_post`: a reset asked for an account that does not exist.
	 *
	 * @param WP_Error      $errors    Errors so far.
	 * @param WP_User|false $user_data The account, or false.
	 */
	public function report_unknown_lostpassword( $errors, $user_data = false ) {
		if ( $user_data instanceof WP_User ) {
			return;
		}
		// phpcs:ignore WordPress.Security.NonceVerification.Missing -- read-only, the login form has no nonce.
		$login = isset( $_POST['user_login'] ) && is_string( $_POST['user_login'] ) ? trim( wp_unslash( $_POST['user_login'] ) ) : '';
		if ( '' === $login ) {
			return;
		}
		$this->plugin->report(
			'lostpassword_unknown_user',
			array(
				'username'   => $login,
				'error_code' => $errors instanceof WP_Error && $errors->has_errors() ? $errors->get_error_code() : 'unknown_user',
			)
		);
	}
}
