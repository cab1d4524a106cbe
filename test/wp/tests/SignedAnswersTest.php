<?php
/**
 * The service's answers are signed for the request they answer: an unsigned or wrongly
 * signed answer is ignored (no bans cached, no ranges taken) and shown as the last error;
 * refreshed ranges may only narrow the pinned Cloudflare superset; plain HTTP goes only
 * to this machine unless EDGEJAIL_ALLOW_HTTP allows it.
 */
class SignedAnswersTest extends EdgeJail_Test_Case {

	const ATTACKER = '198.51.100.23';

	private function answer_with_a_ban( array $signing ) {
		self::$capture->respond(
			'/v1/events',
			array_merge(
				array(
					'status' => 200,
					'body'   => array(
						'accepted'   => 1,
						'duplicates' => 0,
						'decisions'  => array(
							array(
								'ip'           => self::ATTACKER,
								'ip_key'       => self::ATTACKER,
								'jail'         => 'wordpress',
								'banned_until' => gmdate( 'Y-m-d\TH:i:s.000\Z', time() + 600 ),
							),
						),
						'shield'     => array( 'up' => false ),
					),
				),
				$signing
			)
		);
	}

	private function report_one_failure() {
		$_SERVER['REMOTE_ADDR'] = self::ATTACKER;
		$this->signon( 'someone', 'wrong' );
		return $this->deliver();
	}

	public function test_a_correctly_signed_answer_is_taken() {
		$this->answer_with_a_ban( array() );
		$this->assertSame( 'sent', $this->report_one_failure() );
		$this->assertTrue( EdgeJail_Plugin::instance()->ban_cache()->is_banned( self::ATTACKER ) );
		$this->assertSame( '', $this->status( 'last_error' ) );
	}

	/**
	 * @dataProvider forged_answers
	 */
	public function test_a_forged_answer_is_ignored_and_recorded_as_an_error( array $signing, $expected_error ) {
		$this->answer_with_a_ban( $signing );
		$outcome = $this->report_one_failure();

		$this->assertCount( 1, self::$capture->requests(), 'the batch was sent' );
		$this->assertFalse( EdgeJail_Plugin::instance()->ban_cache()->is_banned( self::ATTACKER ), 'no decision of a forged answer is cached' );
		$this->assertSame( 'spooled', $outcome, 'the events are kept and retried (the service drops duplicates)' );
		$this->assertSame( 1, $this->spool_count() );
		$this->assertStringContainsString( 'HTTP 200 answer refused: ' . $expected_error, $this->status( 'last_error' ) );
		$this->assertStringNotContainsString( self::SECRET, $this->status( 'last_error' ) );
	}

	public function forged_answers() {
		return array(
			'unsigned'                => array( array( 'sign' => false ), 'the answer is not signed' ),
			'signed with another key' => array( array( 'sign_with' => 'the-forgers-guess' ), 'the answer is signed wrongly' ),
			'signature header forged' => array( array( 'headers' => array( 'X-EdgeJail-Signature' => 'sha256=' . str_repeat( 'ab', 32 ) ) ), 'the answer is signed wrongly' ),
		);
	}

	public function test_an_unsigned_ranges_answer_is_not_taken() {
		self::$capture->respond(
			'/v1/cloudflare-ranges',
			array(
				'status' => 200,
				'sign'   => false,
				'body'   => array( 'ipv4' => array( '173.245.48.0/20' ), 'ipv6' => array( '2400:cb00::/32' ) ),
			)
		);
		do_action( EdgeJail_Cron::RANGES_HOOK );
		$current = EdgeJail_Plugin::instance()->cloudflare_ranges()->current();
		$this->assertSame( 0, $current['fetched_at'], 'the bundled list is kept' );
		$this->assertSame( EdgeJail_Cloudflare_Ranges::BUNDLED_IPV4, $current['ipv4'] );
		$this->assertStringContainsString( 'answer refused: the answer is not signed', $this->status( 'last_error' ) );
	}

	/**
	 * @dataProvider ranges_outside_the_superset
	 */
	public function test_ranges_outside_the_pinned_superset_are_refused( array $ipv4, array $ipv6 ) {
		self::$capture->respond( '/v1/cloudflare-ranges', array( 'status' => 200, 'body' => array( 'ipv4' => $ipv4, 'ipv6' => $ipv6 ) ) );
		do_action( EdgeJail_Cron::RANGES_HOOK );
		$current = EdgeJail_Plugin::instance()->cloudflare_ranges()->current();
		$this->assertSame( 0, $current['fetched_at'], 'nothing of the list is taken' );
		$this->assertStringContainsString( 'is not inside the Cloudflare ranges this plugin version pins', $this->status( 'last_error' ) );

		// And a forged CF-Connecting-IP from outside Cloudflare is still not believed.
		self::$capture->reset();
		$_SERVER['REMOTE_ADDR']           = '192.0.2.10';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '198.51.100.3';
		$this->signon( 'x', 'y' );
		$this->deliver();
		$this->assertSame( '192.0.2.10', self::$capture->events()[0]['ip'] );
	}

	public function ranges_outside_the_superset() {
		return array(
			'everything v4'         => array( array( '0.0.0.0/0' ), array( '2400:cb00::/32' ) ),
			'everything v6'         => array( array( '173.245.48.0/20' ), array( '::/0' ) ),
			'wider than published'  => array( array( '104.16.0.0/12' ), array( '2400:cb00::/32' ) ),
			'outside, one of many'  => array( array( '173.245.48.0/20', '192.0.2.0/24' ), array( '2400:cb00::/32' ) ),
			'v6 wider than a /29'   => array( array( '173.245.48.0/20' ), array( '2a06:98c0::/28' ) ),
		);
	}

	public function test_a_narrower_list_inside_the_superset_is_taken() {
		self::$capture->respond( '/v1/cloudflare-ranges', array( 'status' => 200, 'body' => array( 'ipv4' => array( '104.16.0.0/16', '173.245.48.5/20' ), 'ipv6' => array( '2a06:98c0:1::/48' ) ) ) );
		do_action( EdgeJail_Cron::RANGES_HOOK );
		$current = EdgeJail_Plugin::instance()->cloudflare_ranges()->current();
		$this->assertSame( array( '104.16.0.0/16', '173.245.48.0/20' ), $current['ipv4'] );
		$this->assertSame( array( '2a06:98c0:1::/48' ), $current['ipv6'] );
	}

	public function test_plain_http_to_another_host_is_refused_without_sending() {
		$this->assertFalse( defined( 'EDGEJAIL_ALLOW_HTTP' ), 'this test runs before the one that allows HTTP' );
		$this->configure( array( 'url' => 'http://192.0.2.1:8787' ) );
		$this->signon( 'x', 'y' );
		$this->assertSame( 'spooled', $this->deliver() );
		$this->assertSame( array(), self::$capture->requests() );
		$this->assertSame( 1, $this->spool_count(), 'kept until the URL is fixed' );
		$this->assertStringContainsString( 'refusing plain http:// to a host other than this machine', $this->status( 'last_error' ) );
		$this->assertStringContainsString( 'EDGEJAIL_ALLOW_HTTP', $this->status( 'last_error' ) );
	}

	public function test_https_and_loopback_http_are_never_refused() {
		$settings = EdgeJail_Plugin::instance()->settings();
		foreach ( array( 'https://edgejail.example.com', 'http://127.0.0.1:8787', 'http://localhost:8787', 'http://[::1]:8787' ) as $url ) {
			$this->configure( array( 'url' => $url ) );
			$this->assertSame( '', $settings->insecure_url_problem(), $url );
		}
		$this->configure( array( 'url' => 'http://127.0.0.1.example.com:8787' ) );
		$this->assertNotSame( '', $settings->insecure_url_problem(), 'a name that only starts like loopback is another host' );
	}

	/**
	 * Last in this file (and the suite): the constant stays defined for the rest of the process.
	 */
	public function test_edgejail_allow_http_permits_plain_http_to_another_host() {
		define( 'EDGEJAIL_ALLOW_HTTP', true );
		// 0.0.0.0 is not loopback by name, yet a connection to it reaches this machine.
		$this->configure( array( 'url' => str_replace( '127.0.0.1', '0.0.0.0', self::$capture->url() ) ) );
		$this->assertSame( '', EdgeJail_Plugin::instance()->settings()->insecure_url_problem() );
		$this->signon( 'x', 'y' );
		$this->assertSame( 'sent', $this->deliver() );
		$this->assertCount( 1, self::$capture->requests() );
	}
}
