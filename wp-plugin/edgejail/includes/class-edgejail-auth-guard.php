<?php
/**
 * Ends an authentication attempt before WordPress checks the password.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * A WP_Error returned early from the `authenticate` filter does not stop core's own
 * password callbacks (priority 20): they would still hash the password. So an attempt
 * that must fail early also unhooks them for this one call, and a last callback on the
 * same filter puts them back, so a later wp_authenticate() in the same request works.
 */
class EdgeJail_Auth_Guard {

	/** Core callbacks that spend a password hash. */
	const PASSWORD_CALLBACKS = array(
		'wp_authenticate_username_password',
		'wp_authenticate_email_password',
		'wp_authenticate_application_password',
	);

	/**
	 * Callbacks taken off for the current call: [callback, priority].
	 *
	 * @var array
	 */
	private $removed = array();

	/**
	 * Fails the current authentication with $error without hashing the password.
	 *
	 * @param WP_Error $error Error wp_authenticate() will return (and pass to wp_login_failed).
	 * @return WP_Error
	 */
	public function fail_early( WP_Error $error ) {
		foreach ( self::PASSWORD_CALLBACKS as $callback ) {
			$priority = has_filter( 'authenticate', $callback );
			if ( false !== $priority ) {
				remove_filter( 'authenticate', $callback, $priority );
				$this->removed[] = array( $callback, $priority );
			}
		}
		if ( ! empty( $this->removed ) ) {
			add_filter( 'authenticate', array( $this, 'restore' ), PHP_INT_MAX );
		}
		return $error;
	}

	/**
	 * Puts core's callbacks back once the current authentication is over.
	 *
	 * @param mixed $user Result of the filter chain, passed through.
	 * @return mixed
	 */
	public function restore( $user ) {
		remove_filter( 'authenticate', array( $this, 'restore' ), PHP_INT_MAX );
		foreach ( $this->removed as $entry ) {
			add_filter( 'authenticate', $entry[0], $entry[1], 3 );
		}
		$this->removed = array();
		return $user;
	}
}
