<?php
/**
 * Plugin Name: EdgeJail test token auth
 * Description: Test-only REST auth scheme ("Authorization: Bearer <token>"), standing for
 * third-party schemes (JWT plugins) whose failures EdgeJail reports as rest_auth_failed.
 */
add_filter(
	'rest_authentication_errors',
	function ( $result ) {
		$header = isset( $_SERVER['HTTP_AUTHORIZATION'] ) ? $_SERVER['HTTP_AUTHORIZATION'] : '';
		if ( null !== $result || 0 !== stripos( $header, 'bearer ' ) ) {
			return $result;
		}
		if ( 'valid-test-token' === trim( substr( $header, 7 ) ) ) {
			return true;
		}
		return new WP_Error( 'test_token_invalid', 'Invalid token.', array( 'status' => 401 ) );
	},
	50
);
