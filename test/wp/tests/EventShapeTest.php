<?php
/**
 * Events match the service's contract (server/contract/events.ts), read from the source.
 */
class EventShapeTest extends EdgeJail_Test_Case {

	private static function contract() {
		return file_get_contents( dirname( __DIR__, 3 ) . '/server/contract/events.ts' );
	}

	public function test_the_event_types_are_the_contracts() {
		$this->assertSame( 1, preg_match( '/EVENT_TYPES = \[(.*?)\]/s', self::contract(), $m ) );
		preg_match_all( "/'([a-z_]+)'/", $m[1], $types );
		$this->assertSame( $types[1], EdgeJail_Event_Builder::ATTEMPT_TYPES );
	}

	public function test_the_field_limits_are_the_contracts() {
		$this->assertSame( 1, preg_match( '/LIMITS = \{(.*?)\}/s', self::contract(), $m ) );
		preg_match_all( '/(\w+): (\d+)/', $m[1], $pairs );
		$this->assertSame( array_map( 'intval', array_combine( $pairs[1], $pairs[2] ) ), EdgeJail_Event_Builder::LIMITS );
	}

	public function test_the_batch_limits_are_within_the_contracts() {
		$this->assertSame( 1, preg_match( '/MAX_EVENTS_PER_BATCH = (\d+)/', self::contract(), $events ) );
		$this->assertSame( 1, preg_match( '/MAX_BODY_BYTES = (\d+) \* (\d+)/', self::contract(), $bytes ) );
		$this->assertSame( (int) $events[1], EdgeJail_Reporter::MAX_BATCH_EVENTS );
		$this->assertLessThan( $bytes[1] * $bytes[2], EdgeJail_Reporter::MAX_BATCH_BYTES );
	}

	public function test_event_ids_are_time_ordered_v7_uuids() {
		$before = (int) floor( microtime( true ) * 1000 );
		$ids    = array();
		for ( $i = 0; $i < 200; $i++ ) {
			$ids[] = EdgeJail_Event_Builder::event_id();
		}
		$after = (int) floor( microtime( true ) * 1000 );
		foreach ( $ids as $id ) {
			self::assertUuid( $id );
			$ms = hexdec( substr( str_replace( '-', '', $id ), 0, 12 ) );
			$this->assertGreaterThanOrEqual( $before, $ms, "$id carries the time it was made" );
			$this->assertLessThanOrEqual( $after, $ms, "$id carries the time it was made" );
		}
		$this->assertCount( 200, array_unique( $ids ) );
	}

	public function test_strings_are_cut_in_utf16_units_without_splitting_a_character() {
		$this->assertSame( str_repeat( 'a', 255 ), EdgeJail_Event_Builder::limit( str_repeat( 'a', 300 ), 'username' ) );
		$this->assertSame( str_repeat( 'a', 254 ), EdgeJail_Event_Builder::limit( str_repeat( 'a', 254 ) . '😀', 'username' ) );
		$this->assertSame( str_repeat( 'a', 253 ) . '😀', EdgeJail_Event_Builder::limit( str_repeat( 'a', 253 ) . '😀b', 'username' ) );
		$this->assertSame( str_repeat( 'ü', 64 ), EdgeJail_Event_Builder::limit( str_repeat( 'ü', 100 ), 'error_code' ) );
		$this->assertSame( "a\u{FFFD}b", EdgeJail_Event_Builder::limit( "a\xc3b", 'username' ) );
		$this->assertNull( EdgeJail_Event_Builder::limit( array( 'x' ), 'username' ) );
		$this->assertSame( '12', EdgeJail_Event_Builder::limit( 12, 'username' ) );
	}

	public function test_weights_stay_within_the_contracts_bounds() {
		$low  = EdgeJail_Event_Builder::attempt( 'xmlrpc_multicall', '192.0.2.1', array( 'weight' => 0 ), array() );
		$high = EdgeJail_Event_Builder::attempt( 'xmlrpc_multicall', '192.0.2.1', array( 'weight' => 50000 ), array() );
		$this->assertSame( 1, $low['weight'] );
		$this->assertSame( 5000, $high['weight'] );
		$this->assertSame( 5000, EdgeJail_Event_Builder::add_weight( $high, 5 )['weight'] );
	}

	public function test_every_attempt_and_unlock_names_the_blog_it_came_from() {
		$attempt = EdgeJail_Event_Builder::attempt( 'login_failed', '192.0.2.1', array(), array() );
		$unlock  = EdgeJail_Event_Builder::self_unlock( '192.0.2.1', 'alice' );
		$this->assertSame( home_url( '/' ), $attempt['site_url'] );
		$this->assertSame( home_url( '/' ), $unlock['site_url'] );
		$this->assertStringContainsString( 'site_url: blogUrl', self::contract(), 'the contract takes it' );
	}

	public function test_a_home_url_the_service_would_refuse_is_left_out_rather_than_voiding_the_batch() {
		foreach ( array( 'ftp://example.test/', 'http://user:pw@example.test/', '/relative/', "http://example.test/a b/" ) as $odd ) {
			$filter = function () use ( $odd ) {
				return $odd;
			};
			add_filter( 'home_url', $filter );
			$event = EdgeJail_Event_Builder::attempt( 'login_failed', '192.0.2.1', array(), array() );
			remove_filter( 'home_url', $filter );
			$this->assertArrayHasKey( 'site_url', $event );
			$this->assertNull( $event['site_url'], $odd );
		}
	}

	public function test_the_hello_event_says_who_the_site_is() {
		$hello = EdgeJail_Event_Builder::hello();
		$this->assertSame( array( 'id', 'type', 'occurred_at', 'site_url', 'plugin_version', 'wp_version', 'php_version' ), array_keys( $hello ) );
		$this->assertSame( 'hello', $hello['type'] );
		$this->assertSame( EDGEJAIL_PLUGIN_VERSION, $hello['plugin_version'] );
		$this->assertSame( get_bloginfo( 'version' ), $hello['wp_version'] );
		$this->assertSame( PHP_VERSION, $hello['php_version'] );
		$this->assertStringStartsWith( 'http://', $hello['site_url'] );
	}

	public function test_saving_settings_sends_a_signed_hello() {
		$this->configure( array() );
		update_option( EdgeJail_Settings::OPTION, array_merge( get_option( EdgeJail_Settings::OPTION ), array( 'timeout' => 0.9 ) ) );
		$this->assertSame( 'sent', $this->deliver() );
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$this->assertTrue( $requests[0]['signature_valid'] );
		$this->assertSame( array( 'hello' ), array_column( $requests[0]['events'], 'type' ) );
	}

	public function test_a_second_hello_in_one_request_is_sent_once_and_without_a_weight() {
		$reporter = EdgeJail_Plugin::instance()->reporter();
		self::discard_pending();
		$reporter->record( EdgeJail_Event_Builder::hello(), 'hello' );
		$reporter->record( EdgeJail_Event_Builder::hello(), 'hello' );
		$pending = $reporter->pending();
		self::discard_pending();
		$this->assertCount( 1, $pending );
		// The contract's hello has no weight: with one, the service refuses the whole batch.
		$this->assertArrayNotHasKey( 'weight', $pending[0] );
	}
}
