<?php
/**
 * XML-RPC through the real xmlrpc.php, served by php -S.
 */
class XmlrpcTest extends EdgeJail_Test_Case {

	private static function call( $method, array $params ) {
		return self::http( 'POST', '/xmlrpc.php', self::xmlrpc_body( $method, $params ), array( 'Content-Type: text/xml' ) );
	}

	private static function multicall( $count, $password_prefix = 'guess-' ) {
		$calls = array();
		for ( $i = 0; $i < $count; $i++ ) {
			$calls[] = array(
				'methodName' => 'wp.getUsersBlogs',
				'params'     => array( getenv( 'WP_ENV_USER' ), $password_prefix . $i ),
			);
		}
		$calls[] = array(
			'methodName' => 'system.listMethods',
			'params'     => array(),
		);
		return self::call( 'system.multicall', array( $calls ) );
	}

	public function test_a_failed_xmlrpc_login_is_reported_as_xmlrpc_login_failed() {
		$response = self::call( 'wp.getUsersBlogs', array( getenv( 'WP_ENV_USER' ), 'wrong' ) );
		$this->assertSame( 200, $response['status'] );
		$this->assertStringContainsString( '<name>faultCode</name><value><int>403</int>', preg_replace( '/\s+/', '', $response['body'] ) );
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$this->assertTrue( $requests[0]['signature_valid'] );
		$this->assertCount( 1, $requests[0]['events'] );
		$event = $requests[0]['events'][0];
		$this->assertSame( 'xmlrpc_login_failed', $event['type'] );
		$this->assertSame( getenv( 'WP_ENV_USER' ), $event['username'] );
		$this->assertSame( 'incorrect_password', $event['error_code'] );
		$this->assertSame( '/xmlrpc.php', $event['path'] );
		$this->assertSame( '127.0.0.1', $event['ip'] );
	}

	public function test_a_multicall_bundle_is_one_event_weighted_by_its_authentication_attempts() {
		$response = self::multicall( 37 );
		$this->assertSame( 200, $response['status'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events, 'one event for the bundle, not one per failed call' );
		$this->assertSame( 'xmlrpc_multicall', $events[0]['type'] );
		$this->assertSame( 37, $events[0]['weight'] );
		$this->assertSame( getenv( 'WP_ENV_USER' ), $events[0]['username'] );
		$this->assertSame( 'incorrect_password', $events[0]['error_code'] );
	}

	public function test_a_multicall_whose_logins_succeed_is_not_reported() {
		$body = self::xmlrpc_body(
			'system.multicall',
			array(
				array(
					array(
						'methodName' => 'wp.getUsersBlogs',
						'params'     => array( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) ),
					),
				),
			)
		);
		$response = self::http( 'POST', '/xmlrpc.php', $body, array( 'Content-Type: text/xml' ) );
		$this->assertStringContainsString( 'isAdmin', $response['body'] );
		$this->assertSame( array(), self::$capture->events() );
	}

	public function test_multicall_bundles_carrying_credentials_can_be_refused_before_any_password_is_checked() {
		$this->configure( array( 'refuse_multicall_auth' => true ) );
		$response = self::multicall( 12, 'never-checked-' );
		// XML-RPC answers faults with HTTP 200 (wp_xmlrpc_server::error()); the fault is 403.
		$this->assertStringContainsString( '<name>faultCode</name><value><int>403</int>', preg_replace( '/\s+/', '', $response['body'] ) );
		$this->assertStringContainsString( 'refused', $response['body'] );
		$this->assertStringNotContainsString( 'isAdmin', $response['body'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'xmlrpc_multicall', $events[0]['type'] );
		$this->assertSame( 12, $events[0]['weight'] );
		$this->assertSame( 'multicall_refused', $events[0]['error_code'] );
	}

	public function test_pingbacks_are_reported_once_per_request_with_their_count_as_weight() {
		$calls = array();
		for ( $i = 0; $i < 3; $i++ ) {
			$calls[] = array(
				'methodName' => 'pingback.ping',
				// A target that is not on this site: core refuses before fetching the source.
				'params'     => array( 'http://source.invalid/page-' . $i, 'http://target.invalid/' ),
			);
		}
		self::call( 'system.multicall', array( $calls ) );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'pingback', $events[0]['type'] );
		$this->assertSame( 3, $events[0]['weight'] );
	}

	public function test_which_xmlrpc_methods_count_as_authentication_attempts() {
		$this->assertTrue( EdgeJail_Xmlrpc_Monitor::takes_credentials( 'wp.getUsersBlogs' ) );
		$this->assertTrue( EdgeJail_Xmlrpc_Monitor::takes_credentials( 'metaWeblog.newPost' ) );
		$this->assertTrue( EdgeJail_Xmlrpc_Monitor::takes_credentials( 'mt.getRecentPostTitles' ) );
		$this->assertFalse( EdgeJail_Xmlrpc_Monitor::takes_credentials( 'mt.supportedMethods' ) );
		$this->assertFalse( EdgeJail_Xmlrpc_Monitor::takes_credentials( 'system.listMethods' ) );
		$this->assertFalse( EdgeJail_Xmlrpc_Monitor::takes_credentials( 'pingback.ping' ) );
	}
}
