<?php
/**
 * Plugin Name: EdgeJail test mail capture
 * Description: Test-only: every wp_mail() of the php -S site is written to
 * wp-content/edgejail-test-mail.jsonl (through pre_wp_mail) instead of being sent, so the
 * tests can read the unlock link the plugin mailed.
 */
add_filter(
	'pre_wp_mail',
	function ( $short_circuit, $atts ) {
		file_put_contents( WP_CONTENT_DIR . '/edgejail-test-mail.jsonl', json_encode( $atts, JSON_UNESCAPED_SLASHES ) . "\n", FILE_APPEND | LOCK_EX );
		return true;
	},
	10,
	2
);
