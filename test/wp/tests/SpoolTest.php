<?php
/**
 * Service outages: events are kept (within the cap) and delivered later, none lost.
 */
class SpoolTest extends EdgeJail_Test_Case {

	private function fail_logins( $count, $prefix = 'user' ) {
		for ( $i = 0; $i < $count; $i++ ) {
			$this->signon( $prefix . $i, 'x' );
			$this->deliver(); // One request each, as on a real site.
		}
	}

	private function spooled_usernames() {
		return array_column( EdgeJail_Plugin::instance()->spool()->oldest( 1000 ), 'username' );
	}

	public function test_service_down_spools_and_service_back_flushes_with_nothing_lost() {
		self::$capture->server->stop();

		$this->signon( 'during-outage-0', 'x' );
		$pending = EdgeJail_Plugin::instance()->reporter()->pending();
		$this->assertSame( 'spooled', $this->deliver() );
		$this->assertSame( 1, $this->spool_count() );
		$this->assertStringStartsWith( 'service unreachable', $this->status( 'last_error' ) );
		$this->assertGreaterThan( time(), $this->status( 'backoff_until' ) );

		// While backing off, later requests spool without touching the network.
		$this->fail_logins( 2, 'during-outage-' . 'n' );
		self::$capture->server->start();
		$this->fail_logins( 1, 'during-outage-' . 'm' );
		$this->assertSame( array(), self::$capture->requests(), 'no attempt during the backoff' );
		$this->assertSame( 4, $this->spool_count() );

		// Service back: the cron job (or the admin's "send now") delivers everything, ids unchanged.
		$this->assertSame( 'sent', EdgeJail_Plugin::instance()->reporter()->flush_spool( true ) );
		$events = self::$capture->events();
		$this->assertSame( array( 'during-outage-0', 'during-outage-n0', 'during-outage-n1', 'during-outage-m0' ), array_column( $events, 'username' ) );
		$this->assertSame( $pending[0]['id'], $events[0]['id'] );
		$this->assertTrue( self::$capture->requests()[0]['signature_valid'] );
		$this->assertSame( 0, $this->spool_count() );
		$this->assertSame( 0, $this->status( 'backoff_until' ) );
		$this->assertFalse( $this->status( 'spool_pending' ) );
	}

	public function test_after_the_backoff_a_request_carries_the_spooled_events_with_its_own() {
		self::$capture->server->stop();
		$this->fail_logins( 2, 'old' );
		self::$capture->server->start();
		$status = EdgeJail_Plugin::instance()->status();
		$status->set( 'backoff_until', time() - 1 ); // The backoff period is over.
		$status->save();

		$this->signon( 'new', 'x' );
		$this->assertSame( 'sent', $this->deliver() );
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests, 'one batch per request' );
		$this->assertEqualsCanonicalizing( array( 'new', 'old0', 'old1' ), array_column( $requests[0]['events'], 'username' ) );
		$this->assertSame( 0, $this->spool_count() );
	}

	public function test_the_wp_cron_job_flushes_the_spool_once_the_backoff_is_over() {
		self::$capture->server->stop();
		$this->fail_logins( 1, 'cron' );
		self::$capture->server->start();

		do_action( EdgeJail_Cron::FLUSH_HOOK );
		$this->assertSame( array(), self::$capture->requests(), 'cron respects the backoff' );

		$status = EdgeJail_Plugin::instance()->status();
		$status->set( 'backoff_until', time() - 1 );
		$status->save();
		do_action( EdgeJail_Cron::FLUSH_HOOK );
		$this->assertSame( array( 'cron0' ), array_column( self::$capture->events(), 'username' ) );
		$this->assertSame( 0, $this->spool_count() );
	}

	public function test_a_hello_the_service_missed_does_not_make_attack_reports_wait() {
		self::$capture->server->stop();
		EdgeJail_Plugin::instance()->report_hello(); // Activated before the service was started.
		$this->assertSame( 'spooled', $this->deliver() );
		$this->assertSame( 0, $this->status( 'backoff_until' ) );
		self::$capture->server->start();

		$this->signon( 'first-attack', 'x' );
		$this->assertSame( 'sent', $this->deliver() );
		$this->assertEqualsCanonicalizing( array( 'hello', 'login_failed' ), array_column( self::$capture->events(), 'type' ) );
		$this->assertSame( 0, $this->spool_count() );
	}

	public function test_the_spool_cap_drops_the_oldest_events_and_counts_them() {
		$this->configure( array( 'spool_max' => 10 ) );
		self::$capture->server->stop();
		$this->fail_logins( 14, 'capped' );
		$this->assertSame( 10, $this->spool_count() );
		$this->assertSame( 4, $this->status( 'dropped_overflow' ) );
		$this->assertSame( array_map( function ( $i ) { return 'capped' . $i; }, range( 4, 13 ) ), $this->spooled_usernames() );
	}

	public function test_a_5xx_answer_keeps_the_events_for_later() {
		self::$capture->respond( '/v1/events', array( 'status' => 503, 'body' => array( 'error' => 'unavailable', 'message' => 'maintenance' ) ) );
		$this->signon( 'five-oh-three', 'x' );
		$this->assertSame( 'spooled', $this->deliver() );
		$this->assertSame( 1, $this->spool_count() );
		$this->assertSame( 'HTTP 503 unavailable: maintenance', $this->status( 'last_error' ) );
	}

	public function test_a_429_is_retried_after_the_services_retry_after() {
		self::$capture->respond( '/v1/events', array( 'status' => 429, 'headers' => array( 'Retry-After' => '120' ), 'body' => array( 'error' => 'rate_limited', 'message' => 'slow down' ) ) );
		$this->signon( 'rate-limited', 'x' );
		$this->assertSame( 'spooled', $this->deliver() );
		$this->assertSame( 1, $this->spool_count() );
		$backoff = $this->status( 'backoff_until' ) - time();
		$this->assertGreaterThanOrEqual( 115, $backoff );
		$this->assertLessThanOrEqual( 120, $backoff );
	}

	public function test_a_4xx_other_than_429_is_logged_counted_and_dropped_not_retried() {
		self::$capture->respond( '/v1/events', array( 'status' => 400, 'body' => array( 'error' => 'invalid_payload', 'message' => 'events[0].ip: must be an IPv4 or IPv6 address' ) ) );
		$this->signon( 'rejected', 'x' );
		$this->assertSame( 'rejected', $this->deliver() );
		$this->assertSame( 0, $this->spool_count() );
		$this->assertSame( 1, $this->status( 'dropped_rejected' ) );
		$this->assertSame( 0, $this->status( 'backoff_until' ) );
		$this->assertStringContainsString( 'HTTP 400 invalid_payload: events[0].ip', $this->status( 'last_error' ) );
		$this->assertStringNotContainsString( self::SECRET, $this->status( 'last_error' ) );
	}

	public function test_a_wrong_secret_is_refused_by_the_service_and_reported_in_the_status() {
		self::$capture->expect_secret( 'the-service-knows-another-secret' );
		self::$capture->respond( '/v1/events', array( 'status' => 401, 'body' => array( 'error' => 'bad_signature', 'message' => 'signature does not match' ) ) );
		$this->signon( 'x', 'y' );
		$this->assertSame( 'rejected', $this->deliver() );
		$this->assertFalse( self::$capture->requests()[0]['signature_valid'] );
		$this->assertStringContainsString( 'bad_signature', $this->status( 'last_error' ) );
	}

	public function test_a_service_slower_than_the_timeout_counts_as_down() {
		$this->configure( array( 'timeout' => 0.3, 'connect_timeout' => 0.2 ) );
		self::$capture->respond( '/v1/events', array( 'status' => 200, 'delay_ms' => 2000, 'body' => array( 'accepted' => 1, 'duplicates' => 0, 'decisions' => array() ) ) );
		$this->signon( 'slow', 'x' );
		$this->assertSame( 'spooled', $this->deliver() );
		$this->assertSame( 1, $this->spool_count() );
		$this->assertStringContainsString( 'timed out', $this->status( 'last_error' ) );
		// php -S serves one request at a time: do not leave the next test queued behind the sleeper.
		self::$capture->server->stop();
	}

	public function test_a_large_spool_is_sent_in_batches_within_the_contract_limits() {
		$this->configure( array( 'spool_max' => 2000 ) );
		$events = array();
		for ( $i = 0; $i < 1100; $i++ ) {
			$events[] = EdgeJail_Event_Builder::attempt( 'login_failed', '198.51.100.' . ( $i % 250 ), array( 'username' => 'bulk' . $i, 'user_agent' => str_repeat( 'a', 400 ) ), $_SERVER );
		}
		EdgeJail_Plugin::instance()->spool()->push( $events, 2000 );
		$status = EdgeJail_Plugin::instance()->status();
		$status->set( 'spool_pending', true );
		$status->save();

		EdgeJail_Plugin::instance()->reporter()->flush_spool( false, 20 );

		$requests = self::$capture->requests();
		$this->assertGreaterThan( 2, count( $requests ) );
		foreach ( $requests as $request ) {
			$this->assertLessThanOrEqual( 500, count( $request['events'] ) );
			$this->assertLessThanOrEqual( 256 * 1024, strlen( $request['body'] ) );
		}
		$this->assertSame( array_column( $events, 'id' ), array_column( self::$capture->events(), 'id' ), 'all delivered, in order, once' );
		$this->assertSame( 0, $this->spool_count() );
	}
}
