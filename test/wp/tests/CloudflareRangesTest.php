<?php
/**
 * The Cloudflare list: bundled, refreshed from the service with a signed GET.
 */
class CloudflareRangesTest extends EdgeJail_Test_Case {

	public function test_the_bundled_list_is_cloudflares_published_one() {
		$notes = @file_get_contents( dirname( __DIR__, 4 ) . '/shared/cloudflare/NOTES.md' );
		if ( false === $notes ) {
			$this->markTestSkipped( 'shared/cloudflare/NOTES.md is not beside the repository' );
		}
		preg_match( '/- IPv4: (.*?)\.\n/s', $notes, $v4 );
		preg_match( '/- IPv6: (.*?)\.\n/s', $notes, $v6 );
		$this->assertSame( preg_split( '/,\s*/', trim( $v4[1] ) ), EdgeJail_Cloudflare_Ranges::BUNDLED_IPV4 );
		$this->assertSame( preg_split( '/,\s*/', trim( $v6[1] ) ), EdgeJail_Cloudflare_Ranges::BUNDLED_IPV6 );
	}

	public function test_the_daily_refresh_replaces_the_list_and_a_new_edge_range_is_trusted() {
		// A narrower list than the pinned superset (a refresh may narrow it, never widen it).
		self::$capture->respond( '/v1/cloudflare-ranges', array( 'status' => 200, 'body' => array( 'ipv4' => array( '103.21.244.0/22', '173.245.48.0/20' ), 'ipv6' => array( '2400:CB00::/32' ) ) ) );
		do_action( EdgeJail_Cron::RANGES_HOOK );

		$request = self::$capture->requests()[0];
		$this->assertSame( 'GET', $request['method'] );
		$this->assertSame( '/v1/cloudflare-ranges', $request['path'] );
		$this->assertSame( '', $request['body'] );
		$this->assertTrue( $request['signature_valid'], 'signed over the empty body' );

		$current = EdgeJail_Plugin::instance()->cloudflare_ranges()->current();
		$this->assertSame( array( '103.21.244.0/22', '173.245.48.0/20' ), $current['ipv4'] );
		$this->assertSame( array( '2400:cb00::/32' ), $current['ipv6'] );

		self::$capture->reset();
		$_SERVER['REMOTE_ADDR']           = '103.21.244.10';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '198.51.100.3';
		$this->signon( 'x', 'y' );
		$this->deliver();
		$this->assertSame( '198.51.100.3', self::$capture->events()[0]['ip'] );

		self::$capture->reset();
		$_SERVER['REMOTE_ADDR'] = '104.16.0.1'; // Dropped from the list: no longer trusted.
		$this->signon( 'x', 'y' );
		$this->deliver();
		$this->assertSame( '104.16.0.1', self::$capture->events()[0]['ip'] );
	}

	/**
	 * @dataProvider implausible_lists
	 */
	public function test_an_implausible_list_is_refused_and_the_bundled_one_kept( $body ) {
		self::$capture->respond( '/v1/cloudflare-ranges', array( 'status' => 200, 'body' => $body ) );
		do_action( EdgeJail_Cron::RANGES_HOOK );
		$current = EdgeJail_Plugin::instance()->cloudflare_ranges()->current();
		$this->assertSame( EdgeJail_Cloudflare_Ranges::BUNDLED_IPV4, $current['ipv4'] );
		$this->assertStringContainsString( 'Cloudflare ranges not refreshed', $this->status( 'last_error' ) );
	}

	public function implausible_lists() {
		return array(
			'empty'             => array( array( 'ipv4' => array(), 'ipv6' => array( '2400:cb00::/32' ) ) ),
			'not a range'       => array( array( 'ipv4' => array( 'everything' ), 'ipv6' => array( '2400:cb00::/32' ) ) ),
			'wrong family'      => array( array( 'ipv4' => array( '2400:cb00::/32' ), 'ipv6' => array( '2400:cb00::/32' ) ) ),
			'missing family'    => array( array( 'ipv4' => array( '173.245.48.0/20' ) ) ),
		);
	}

	public function test_a_failed_refresh_keeps_the_bundled_list() {
		self::$capture->respond( '/v1/cloudflare-ranges', array( 'status' => 500, 'body' => array( 'error' => 'internal', 'message' => 'boom' ) ) );
		do_action( EdgeJail_Cron::RANGES_HOOK );
		$this->assertSame( 0, EdgeJail_Plugin::instance()->cloudflare_ranges()->current()['fetched_at'] );
		$this->assertStringContainsString( 'HTTP 500 internal: boom', $this->status( 'last_error' ) );
	}
}
