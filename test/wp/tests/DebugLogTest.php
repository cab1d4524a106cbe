<?php
/**
 * Runs last: nothing the plugin did during the whole run left a PHP warning, notice or
 * deprecation in WordPress's debug.log (core's own PHP 8.2 deprecations aside).
 */
class DebugLogTest extends PHPUnit\Framework\TestCase {

	public function test_the_plugin_caused_no_php_notice_warning_or_error() {
		$log = (string) @file_get_contents( getenv( 'WP_ENV_DEBUG_LOG' ) );
		$ours = array_filter(
			explode( "\n", $log ),
			function ( $line ) {
				return false !== stripos( $line, 'edgejail' ) && false === strpos( $line, 'EdgeJail: service refused' );
			}
		);
		$this->assertSame( array(), array_values( $ours ) );
	}
}
