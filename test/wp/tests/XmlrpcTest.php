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
		// Newer WordPress (Debian 13's 6.8) processes one pingback per request and refuses the
		// rest before `xmlrpc_call`: the weight is what core actually processed.
		require_once ABSPATH . WPINC . '/class-wp-xmlrpc-server.php';
		$one_per_request = property_exists( 'wp_xmlrpc_server', 'pingback_processed' );
		$this->assertSame( $one_per_request ? 1 : 3, $events[0]['weight'] );
	}

	/**
	 * The service's answer says the site's login shield is up; a failed wp-login.php
	 * attempt carries that answer to the site.
	 */
	private function shield_goes_up() {
		self::$capture->respond(
			'/v1/events',
			array(
				'status' => 200,
				'body'   => array(
					'accepted'   => 1,
					'duplicates' => 0,
					'decisions'  => array(),
					'shield'     => array(
						'up'     => true,
						'since'  => gmdate( 'Y-m-d\TH:i:s.000\Z', time() - 60 ),
						'until'  => gmdate( 'Y-m-d\TH:i:s.000\Z', time() + 1800 ),
						'reason' => "312 failures from 211 IPs in 5m; 'admin' from 57 IPs",
					),
				),
			)
		);
		self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => 'someone', 'pwd' => 'x' ) ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
		wp_cache_delete( 'alloptions', 'options' ); // The php -S site stored it, not this process.
		$this->assertTrue( $this->status( 'shield' )['up'], 'the answer was taken' );
		self::$capture->reset();
	}

	public function test_while_the_shield_is_up_xmlrpc_logins_get_403_even_with_the_right_password() {
		$this->shield_goes_up();
		$response = self::call( 'wp.getUsersBlogs', array( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) ) );
		$this->assertSame( 403, $response['status'] );
		$this->assertStringContainsString( 'under a login attack', $response['body'] );
		$this->assertStringNotContainsString( 'isAdmin', $response['body'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events, 'the refused attempt is reported: it keeps the shield up' );
		$this->assertSame( 'xmlrpc_login_failed', $events[0]['type'] );
		$this->assertSame( 'shield_refused', $events[0]['error_code'] );
		$this->assertSame( getenv( 'WP_ENV_USER' ), $events[0]['username'] );

		$multicall = self::multicall( 20, 'never-checked-' );
		$this->assertSame( 403, $multicall['status'], 'a multicall is refused whole' );

		$listing = self::call( 'system.listMethods', array() );
		$this->assertSame( 200, $listing['status'], 'methods without credentials still work' );
		$this->assertStringContainsString( 'wp.getUsersBlogs', $listing['body'] );
	}

	public function test_outside_xmlrpc_the_shield_refuses_nothing() {
		EdgeJail_Plugin::instance()->status()->record_shield( array( 'up' => true, 'since' => gmdate( 'c' ), 'until' => gmdate( 'c', time() + 600 ), 'reason' => 'test' ) );
		$this->assertNotNull( EdgeJail_Plugin::instance()->shield_up() );
		// Outside XML-RPC the shield changes nothing: wp-login.php is challenged at Cloudflare.
		$this->assertInstanceOf( WP_User::class, $this->signon( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) ) );
	}

	public function test_a_shield_whose_until_has_passed_is_down() {
		$status = EdgeJail_Plugin::instance()->status();
		$status->record_shield( array( 'up' => true, 'since' => gmdate( 'c', time() - 4000 ), 'until' => gmdate( 'c', time() - 5 ), 'reason' => 'old' ) );
		$this->assertNull( $status->shield_up(), 'no word from the service since it ended' );
		$status->record_shield( array( 'up' => false ) );
		$this->assertNull( $status->shield_up() );
		$status->record_shield( 'garbage' );
		$this->assertNull( $status->shield_up() );
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
