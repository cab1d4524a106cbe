<?php
/**
 * Logins through the real wp_signon(), reported as the service's contract says.
 */
class LoginReportTest extends EdgeJail_Test_Case {

	public function test_a_wrong_password_sends_exactly_one_correctly_signed_request() {
		$result = $this->signon( getenv( 'WP_ENV_USER' ), 'wrong-password' );
		$this->assertWPError( $result, 'incorrect_password' );

		$this->assertSame( 'sent', $this->deliver() );

		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$request = $requests[0];
		$this->assertSame( 'POST', $request['method'] );
		$this->assertSame( '/v1/events', $request['path'] );
		$this->assertSame( 'application/json', $request['content_type'] );
		$this->assertSame( self::SITE_ID, $request['site'] );
		$this->assertTrue( $request['signature_valid'], 'HMAC-SHA256(secret, timestamp.body) verified by the listener' );
		$this->assertMatchesRegularExpression( '/^sha256=[0-9a-f]{64}$/', $request['signature'] );
		$this->assertEqualsWithDelta( time(), (int) $request['timestamp'], 60 );
		$this->assertNull( $request['expect_header'], 'no Expect: 100-continue round trip' );

		$this->assertCount( 1, $request['events'] );
		$event = $request['events'][0];
		$this->assertSame( array( 'id', 'type', 'ip', 'occurred_at', 'username', 'user_agent', 'path', 'error_code', 'weight', 'site_url' ), array_keys( $event ) );
		$this->assertSame( home_url( '/' ), $event['site_url'], 'the blog it came from' );
		self::assertUuid( $event['id'] );
		$this->assertSame( 'login_failed', $event['type'] );
		$this->assertSame( '203.0.113.7', $event['ip'] );
		$this->assertSame( getenv( 'WP_ENV_USER' ), $event['username'] );
		$this->assertSame( 'incorrect_password', $event['error_code'] );
		$this->assertSame( '/wp-login.php', $event['path'] );
		$this->assertSame( 'EdgeJail-Test/1.0', $event['user_agent'] );
		$this->assertSame( 1, $event['weight'] );
		$this->assertMatchesRegularExpression( '/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/', $event['occurred_at'] );
	}

	public function test_nothing_is_sent_before_the_request_ends() {
		$this->signon( getenv( 'WP_ENV_USER' ), 'wrong-password' );
		$this->assertCount( 1, EdgeJail_Plugin::instance()->reporter()->pending() );
		$this->assertSame( array(), self::$capture->requests() );
		$this->assertNotFalse( has_action( 'shutdown', array( EdgeJail_Plugin::instance()->reporter(), 'deliver_after_response' ) ) );
	}

	public function test_an_unknown_username_is_reported_with_its_error_code() {
		$this->signon( 'no-such-user', 'whatever' );
		$this->deliver();
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'login_failed', $events[0]['type'] );
		$this->assertSame( 'no-such-user', $events[0]['username'] );
		$this->assertSame( 'invalid_username', $events[0]['error_code'] );
	}

	public function test_several_failures_in_one_request_go_in_one_batch() {
		$this->signon( 'first', 'x' );
		$this->signon( 'second', 'y' );
		$this->deliver();
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$this->assertSame( array( 'first', 'second' ), array_column( $requests[0]['events'], 'username' ) );
	}

	public function test_a_successful_login_is_reported_so_the_service_can_forgive_a_typo() {
		$user = $this->signon( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) );
		$this->assertInstanceOf( WP_User::class, $user );
		$this->deliver();
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'login_succeeded', $events[0]['type'] );
		$this->assertSame( getenv( 'WP_ENV_USER' ), $events[0]['username'] );
	}

	public function test_successful_logins_are_not_reported_when_turned_off() {
		$this->configure( array( 'report_successful_logins' => false ) );
		$this->signon( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) );
		$this->assertNull( $this->deliver() );
		$this->assertSame( array(), self::$capture->requests() );
	}

	public function test_long_multibyte_fields_are_cut_to_the_contract_limits() {
		// wp_authenticate() sanitises usernames (accents go), so CJK and emoji stand for multibyte here.
		$username                   = str_repeat( '中', 200 ) . str_repeat( '😀', 100 );
		$_SERVER['HTTP_USER_AGENT'] = str_repeat( 'Ω', 600 );
		$_SERVER['REQUEST_URI']     = '/' . str_repeat( 'p', 3000 ) . '?key=reset-secret';
		$this->signon( $username, 'x' );
		$this->assertSame( 'sent', $this->deliver() );
		$event = self::$capture->events()[0];
		// 200 '中' + 27 emoji (2 UTF-16 units each) = 254 units; a 28th emoji would make 256 > 255.
		$this->assertSame( str_repeat( '中', 200 ) . str_repeat( '😀', 27 ), $event['username'] );
		$this->assertSame( 512, mb_strlen( $event['user_agent'] ) );
		$this->assertSame( 2048, strlen( $event['path'] ) );
		$this->assertStringNotContainsString( 'reset-secret', $event['path'] );
	}

	public function test_invalid_utf8_sent_by_an_attacker_still_makes_a_valid_batch() {
		// The lost-password form passes the raw bytes through.
		self::http( 'POST', '/wp-login.php?action=lostpassword', 'user_login=' . rawurlencode( "gh\xffost\xc3" ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$this->assertTrue( $requests[0]['signature_valid'] );
		$this->assertSame( "gh\u{FFFD}ost\u{FFFD}", $requests[0]['events'][0]['username'] );
	}

	public function test_a_blocked_username_fails_before_any_password_is_hashed_and_is_reported() {
		$this->configure( array( 'blocked_usernames' => array( 'admin', 'administrator' ) ) );
		$checks = $this->count_password_checks();

		$result = $this->signon( 'Admin', 'guess' );

		$this->assertWPError( $result, 'edgejail_blocked_username' );
		$this->assertSame( 0, $checks['checks'], 'no password hash was computed' );
		$this->deliver();
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'blocked_username', $events[0]['type'] );
		// A network lowercases usernames before any plugin sees them (ms-default-filters.php).
		$this->assertSame( is_multisite() ? 'admin' : 'Admin', $events[0]['username'] );

		// Core's password check is back for the next attempt in the same request.
		$user = $this->signon( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) );
		$this->assertInstanceOf( WP_User::class, $user );
		$this->assertSame( 1, $checks['checks'] );
	}

	public function test_a_lost_password_request_for_an_unknown_user_is_reported() {
		$response = self::http( 'POST', '/wp-login.php?action=lostpassword', http_build_query( array( 'user_login' => 'ghost-user', 'redirect_to' => '', 'wp-submit' => 'Get New Password' ) ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
		$this->assertSame( 200, $response['status'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'lostpassword_unknown_user', $events[0]['type'] );
		$this->assertSame( 'ghost-user', $events[0]['username'] );
		$this->assertSame( '127.0.0.1', $events[0]['ip'] );
	}

	public function test_a_lost_password_request_for_a_real_user_is_not_reported() {
		self::http( 'POST', '/wp-login.php?action=lostpassword', http_build_query( array( 'user_login' => getenv( 'WP_ENV_USER' ) ) ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
		$this->assertSame( array(), self::$capture->events() );
	}

	public function test_a_wrong_password_posted_to_wp_login_php_is_reported_once() {
		$response = self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => getenv( 'WP_ENV_USER' ), 'pwd' => 'nope' ) ), array( 'Content-Type: application/x-www-form-urlencoded', 'User-Agent: curl-attacker' ) );
		$this->assertSame( 200, $response['status'] );
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$this->assertTrue( $requests[0]['signature_valid'] );
		$event = $requests[0]['events'][0];
		$this->assertSame( 'login_failed', $event['type'] );
		$this->assertSame( '127.0.0.1', $event['ip'] );
		$this->assertSame( 'curl-attacker', $event['user_agent'] );
	}

	public function test_nothing_is_recorded_when_the_plugin_is_not_configured() {
		$this->configure( array( 'secret' => '' ) );
		$this->signon( 'someone', 'x' );
		$this->assertSame( array(), EdgeJail_Plugin::instance()->reporter()->pending() );
	}

	private function assertWPError( $value, $code ) {
		$this->assertInstanceOf( WP_Error::class, $value );
		$this->assertSame( $code, $value->get_error_code() );
	}
}
