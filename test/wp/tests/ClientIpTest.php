<?php
/**
 * The client address: REMOTE_ADDR, unless a hop the site trusts says otherwise.
 */
class ClientIpTest extends EdgeJail_Test_Case {

	private function reported_ip() {
		$this->signon( 'someone', 'wrong' );
		$this->deliver();
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		return $events[0]['ip'];
	}

	public function test_a_forged_cf_connecting_ip_from_a_non_cloudflare_address_is_ignored() {
		$_SERVER['REMOTE_ADDR']           = '198.51.100.23';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '192.0.2.99';
		$this->assertSame( '198.51.100.23', $this->reported_ip() );
	}

	public function test_cf_connecting_ip_from_a_cloudflare_ipv4_edge_is_honoured() {
		$_SERVER['REMOTE_ADDR']           = '173.245.48.17';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '192.0.2.99';
		$this->assertSame( '192.0.2.99', $this->reported_ip() );
	}

	public function test_cf_connecting_ip_from_a_cloudflare_ipv6_edge_is_honoured_and_normalised() {
		$_SERVER['REMOTE_ADDR']           = '2606:4700:0:0::10';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '2001:DB8:0000:0:0::AB';
		$this->assertSame( '2001:db8::ab', $this->reported_ip() );
	}

	public function test_garbage_in_cf_connecting_ip_from_cloudflare_falls_back_to_the_edge_address() {
		$_SERVER['REMOTE_ADDR']           = '104.16.0.1';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = 'not-an-ip, 1.2.3.4';
		$this->assertSame( '104.16.0.1', $this->reported_ip() );
	}

	public function test_x_forwarded_for_is_ignored_without_trusted_proxies() {
		$_SERVER['REMOTE_ADDR']          = '10.0.0.5';
		$_SERVER['HTTP_X_FORWARDED_FOR'] = '192.0.2.1';
		$this->assertSame( '10.0.0.5', $this->reported_ip() );
	}

	public function test_x_forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_address() {
		$this->configure( array( 'trusted_proxies' => array( '10.0.0.0/8', '192.168.1.1' ) ) );
		$_SERVER['REMOTE_ADDR'] = '10.0.0.5';
		// The attacker wrote "6.6.6.6"; the proxies appended what they saw.
		$_SERVER['HTTP_X_FORWARDED_FOR'] = '6.6.6.6, 198.51.100.40, 192.168.1.1';
		$this->assertSame( '198.51.100.40', $this->reported_ip() );
	}

	public function test_a_chain_of_trusted_proxies_in_front_of_cloudflare_ends_at_cf_connecting_ip() {
		$this->configure( array( 'trusted_proxies' => array( '10.0.0.0/8' ) ) );
		$_SERVER['REMOTE_ADDR']           = '10.1.2.3';
		$_SERVER['HTTP_X_FORWARDED_FOR']  = '192.0.2.55, 162.158.1.1';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '192.0.2.55';
		$this->assertSame( '192.0.2.55', $this->reported_ip() );
	}

	public function test_cf_connecting_ip_is_ignored_when_the_trusted_proxy_was_not_reached_from_cloudflare() {
		$this->configure( array( 'trusted_proxies' => array( '10.0.0.0/8' ) ) );
		$_SERVER['REMOTE_ADDR']           = '10.1.2.3';
		$_SERVER['HTTP_X_FORWARDED_FOR']  = '198.51.100.77';
		$_SERVER['HTTP_CF_CONNECTING_IP'] = '192.0.2.55';
		$this->assertSame( '198.51.100.77', $this->reported_ip() );
	}

	public function test_when_every_hop_is_trusted_the_leftmost_address_is_used() {
		$this->configure( array( 'trusted_proxies' => array( '10.0.0.0/8' ) ) );
		$_SERVER['REMOTE_ADDR']          = '10.0.0.1';
		$_SERVER['HTTP_X_FORWARDED_FOR'] = '10.0.0.3, 10.0.0.2';
		$this->assertSame( '10.0.0.3', $this->reported_ip() );
	}

	public function test_an_unparseable_forwarded_entry_stops_the_walk_at_the_trusted_proxy() {
		$this->configure( array( 'trusted_proxies' => array( '10.0.0.0/8' ) ) );
		$_SERVER['REMOTE_ADDR']          = '10.0.0.1';
		$_SERVER['HTTP_X_FORWARDED_FOR'] = '198.51.100.1, garbage';
		$this->assertSame( '10.0.0.1', $this->reported_ip() );
	}

	public function test_ports_brackets_and_mapped_addresses_are_normalised() {
		$this->configure( array( 'trusted_proxies' => array( '::1' ) ) );
		$_SERVER['REMOTE_ADDR']          = '::1';
		$_SERVER['HTTP_X_FORWARDED_FOR'] = '[2001:0db8:0000:0000:0000:0000:0000:0001]:4711';
		$this->assertSame( '2001:db8::1', $this->reported_ip() );

		self::$capture->reset();
		$_SERVER['REMOTE_ADDR'] = '::ffff:203.0.113.9';
		unset( $_SERVER['HTTP_X_FORWARDED_FOR'] );
		$this->assertSame( '203.0.113.9', $this->reported_ip() );

		self::$capture->reset();
		$_SERVER['REMOTE_ADDR'] = '10.0.0.1';
		$this->configure( array( 'trusted_proxies' => array( '10.0.0.1' ) ) );
		$_SERVER['HTTP_X_FORWARDED_FOR'] = '198.51.100.8:55123';
		$this->assertSame( '198.51.100.8', $this->reported_ip() );
	}

	public function test_no_event_without_a_usable_remote_addr() {
		$_SERVER['REMOTE_ADDR'] = '';
		$this->signon( 'someone', 'x' );
		$this->assertSame( array(), EdgeJail_Plugin::instance()->reporter()->pending() );
	}

	public function test_cidr_matching_at_odd_prefix_lengths() {
		$ranges = array( EdgeJail_Ip::parse_cidr( '2a06:98c0::/29' ), EdgeJail_Ip::parse_cidr( '198.41.128.0/17' ) );
		$this->assertTrue( EdgeJail_Ip::in_ranges( '2a06:98c7:ffff::1', $ranges ) );
		$this->assertFalse( EdgeJail_Ip::in_ranges( '2a06:98c8::1', $ranges ) );
		$this->assertTrue( EdgeJail_Ip::in_ranges( '198.41.255.255', $ranges ) );
		$this->assertFalse( EdgeJail_Ip::in_ranges( '198.41.127.255', $ranges ) );
		$this->assertNull( EdgeJail_Ip::parse_cidr( '10.0.0.0/33' ) );
		$this->assertNull( EdgeJail_Ip::parse_cidr( 'example.com/8' ) );
		$this->assertSame( '2001:db8:1:2::/64', EdgeJail_Ip::prefix( '2001:db8:1:2:aaaa:bbbb:cccc:dddd', 64 ) );
	}
}
