<?php
/**
 * User enumeration: ?author=N scans and unauthenticated /wp/v2/users listings.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Attackers collect usernames before guessing passwords. Reported always; refused
 * when the site owner enables it.
 */
class EdgeJail_Enumeration_Monitor {

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
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only check.
		if ( isset( $_GET['author'] ) ) {
			add_action( 'parse_request', array( $this, 'check_author_scan' ), 0 );
		}
		add_filter( 'rest_pre_dispatch', array( $this, 'check_users_listing' ), 10, 3 );
	}

	/**
	 * `parse_request`: ?author=N from a visitor who is not logged in (core would
	 * redirect to /author/<username>/, revealing the login name).
	 */
	public function check_author_scan() {
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- read-only check.
		$author = isset( $_GET['author'] ) ? wp_unslash( $_GET['author'] ) : null;
		if ( is_admin() || is_user_logged_in() || ! is_scalar( $author ) || ! preg_match( '/\d/', (string) $author ) ) {
			return;
		}
		$this->plugin->report( 'user_enumeration', array( 'error_code' => 'author_query' ) );
		if ( $this->plugin->settings()->get( 'block_user_enumeration' ) ) {
			$this->plugin->deny( 'user_enumeration' );
		}
	}

	/**
	 * `rest_pre_dispatch`: /wp/v2/users listing by a visitor who is not logged in.
	 *
	 * @param mixed           $result  Response so far (null to go on).
	 * @param WP_REST_Server  $server  Server.
	 * @param WP_REST_Request $request Request.
	 * @return mixed
	 */
	public function check_users_listing( $result, $server, $request ) {
		if ( null !== $result || ! $request instanceof WP_REST_Request || 'GET' !== $request->get_method() ) {
			return $result;
		}
		if ( ! preg_match( '#^/wp/v2/users(?:/\d+)?/?$#', $request->get_route() ) || is_user_logged_in() ) {
			return $result;
		}
		$this->plugin->report( 'user_enumeration', array( 'error_code' => 'rest_users' ) );
		if ( $this->plugin->settings()->get( 'block_user_enumeration' ) ) {
			return new WP_Error( 'rest_user_cannot_view', __( 'Sorry, you are not allowed to list users.', 'edgejail' ), array( 'status' => rest_authorization_required_code() ) );
		}
		return $result;
	}
}
