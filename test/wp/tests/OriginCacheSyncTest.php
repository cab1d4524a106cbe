<?php
/**
 * The origin 403 cache follows the service: an unban, an allowlisting or a self-unlock
 * reaches it with the plugin's next answer, and a cached ban older than a minute is
 * checked with the service before anyone is refused on it.
 */
class OriginCacheSyncTest extends EdgeJail_Test_Case {

	private static function until( $seconds ) {
		return gmdate( 'Y-m-d\TH:i:s.000\Z', time() + $seconds );
	}

	private static function ban( $ip_key ) {
		return array(
			'ip'           => $ip_key,
			'ip_key'       => $ip_key,
			'jail'         => 'wordpress',
			'banned_until' => self::until( 600 ),
		);
	}

	private function answer( array $unbanned, array $decisions = array() ) {
		self::$capture->respond(
			'/v1/events',
			array(
				'status' => 200,
				'body'   => array(
					'accepted'   => 1,
					'duplicates' => 0,
					'decisions'  => $decisions,
					'shield'     => array( 'up' => false ),
					'unbanned'   => $unbanned,
				),
			)
		);
	}

	private function report_from( $ip ) {
		$_SERVER['REMOTE_ADDR'] = $ip;
		EdgeJail_Plugin::instance()->report( 'login_failed', array( 'username' => 'someone' ) );
		return $this->deliver();
	}

	private static function cache() {
		wp_cache_flush(); // The php -S site may have written the entries.
		return EdgeJail_Plugin::instance()->ban_cache();
	}

	private static function login_post() {
		return self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => getenv( 'WP_ENV_USER' ), 'pwd' => 'guess' ) ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
	}

	public function test_the_unbans_of_an_answer_leave_the_cache_and_its_cursor_rides_on_the_next_batch() {
		self::cache()->remember( array( self::ban( '198.51.100.20' ), self::ban( '198.51.100.21' ), self::ban( '2001:db8:7:7::/64' ) ) );
		$this->answer( array( 'cursor' => 42, 'ip_keys' => array( '198.51.100.20', '2001:DB8:7:7::/64', 'not-an-ip' ), 'clear_all' => false ) );

		$this->assertSame( 'sent', $this->report_from( '192.0.2.50' ) );

		$cache = self::cache();
		$this->assertFalse( $cache->is_banned( '198.51.100.20' ), 'unbanned at the service' );
		$this->assertFalse( $cache->is_banned( '2001:db8:7:7::1' ), 'the /64 unbanned, spelled another way' );
		$this->assertTrue( $cache->is_banned( '198.51.100.21' ), 'still banned' );
		$this->assertSame( 42, $this->status( 'unban_cursor' ) );

		$this->report_from( '192.0.2.51' );
		$requests = self::$capture->requests();
		$this->assertStringNotContainsString( 'unban_cursor', $requests[0]['body'], 'no cursor before the first answer' );
		$this->assertSame( 42, json_decode( $requests[1]['body'], true )['unban_cursor'] );
	}

	public function test_clear_all_empties_the_cache_before_the_answers_own_decisions_are_kept() {
		self::cache()->remember( array( self::ban( '198.51.100.30' ) ) );
		$this->answer( array( 'cursor' => 7, 'ip_keys' => array(), 'clear_all' => true ), array( self::ban( '192.0.2.60' ) ) );
		$this->report_from( '192.0.2.60' );
		$cache = self::cache();
		$this->assertFalse( $cache->is_banned( '198.51.100.30' ) );
		$this->assertTrue( $cache->is_banned( '192.0.2.60' ), 'a ban of this very answer is kept' );
	}

	public function test_a_cached_ban_older_than_a_minute_is_checked_with_the_service_before_it_refuses() {
		// The service banned 127.0.0.1 two minutes ago, and has since lifted it.
		self::cache()->remember( array( self::ban( '127.0.0.1' ) ) );
		update_option( EdgeJail_Status::OPTION, array_merge( EdgeJail_Status::defaults(), array( 'last_synced_at' => time() - 120, 'unban_cursor' => 5 ) ) );
		$this->answer( array( 'cursor' => 9, 'ip_keys' => array( '127.0.0.1' ), 'clear_all' => false ) );

		$response = self::login_post();

		$this->assertSame( 200, $response['status'], 'the unbanned owner reaches the login form at once' );
		$requests = self::$capture->requests();
		$this->assertGreaterThanOrEqual( 1, count( $requests ) );
		$sync = json_decode( $requests[0]['body'], true );
		$this->assertSame( array(), $sync['events'], 'a sync carries no event' );
		$this->assertSame( 5, $sync['unban_cursor'] );
		$this->assertTrue( $requests[0]['signature_valid'] );
		$this->assertFalse( self::cache()->is_banned( '127.0.0.1' ) );
	}

	public function test_a_fresh_cached_ban_is_refused_without_asking_the_service() {
		self::cache()->remember( array( self::ban( '127.0.0.1' ) ) );
		update_option( EdgeJail_Status::OPTION, array_merge( EdgeJail_Status::defaults(), array( 'last_synced_at' => time() - 5 ) ) );
		$this->assertSame( 403, self::login_post()['status'] );
		$this->assertSame( array(), self::$capture->requests(), 'an attacker refused from the cache costs no request' );
	}

	public function test_a_still_banned_address_stays_refused_after_the_sync() {
		self::cache()->remember( array( self::ban( '127.0.0.1' ) ) );
		update_option( EdgeJail_Status::OPTION, array_merge( EdgeJail_Status::defaults(), array( 'last_synced_at' => time() - 120 ) ) );
		$this->answer( array( 'cursor' => 3, 'ip_keys' => array(), 'clear_all' => false ) );
		$this->assertSame( 403, self::login_post()['status'] );
		$this->assertCount( 1, self::$capture->requests(), 'one sync' );
		$this->assertSame( 403, self::login_post()['status'] );
		$this->assertCount( 1, self::$capture->requests(), 'synced a moment ago: no second one' );
	}
}
