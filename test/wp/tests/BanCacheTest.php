<?php
/**
 * Origin fallback: IPs the service reports banned get 403 before a password hash is spent.
 */
class BanCacheTest extends EdgeJail_Test_Case {

	private function service_bans( $ip, $ip_key, $seconds = 600 ) {
		self::$capture->respond(
			'/v1/events',
			array(
				'status' => 200,
				'body'   => array(
					'accepted'   => 1,
					'duplicates' => 0,
					'decisions'  => array(
						array(
							'ip'           => $ip,
							'ip_key'       => $ip_key,
							'jail'         => 'wp-login',
							'banned_until' => gmdate( 'Y-m-d\TH:i:s.000\Z', time() + $seconds ),
						),
					),
				),
			)
		);
	}

	private static function login_post() {
		return self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => getenv( 'WP_ENV_USER' ), 'pwd' => 'guess' ) ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
	}

	public function test_a_banned_ip_gets_403_at_wp_login_php_and_xmlrpc_without_reaching_wordpress_auth() {
		$this->service_bans( '127.0.0.1', '127.0.0.1' );
		$first = self::login_post();
		$this->assertSame( 200, $first['status'], 'not banned yet: the failure is reported' );
		$this->assertCount( 1, self::$capture->requests() );
		$this->assertTrue( EdgeJail_Plugin::instance()->ban_cache()->is_banned( '127.0.0.1' ) );

		$second = self::login_post();
		$this->assertSame( 403, $second['status'] );
		$this->assertStringContainsString( 'Forbidden', $second['body'] );
		$this->assertStringNotContainsString( 'user_login', $second['body'], 'the login form was never rendered' );
		$this->assertCount( 1, self::$capture->requests(), 'a refused attempt costs no report' );

		$xmlrpc = self::http( 'POST', '/xmlrpc.php', self::xmlrpc_body( 'wp.getUsersBlogs', array( getenv( 'WP_ENV_USER' ), 'guess' ) ), array( 'Content-Type: text/xml' ) );
		$this->assertSame( 403, $xmlrpc['status'] );

		$rest = self::http( 'GET', '/?rest_route=/wp/v2/users/me', null, array( 'Authorization: Basic ' . base64_encode( 'alice:aaaa bbbb cccc dddd eeee ffff' ) ) );
		$this->assertSame( 403, $rest['status'] );

		$home = self::http( 'GET', '/' );
		$this->assertSame( 200, $home['status'], 'only the login surfaces are refused' );
	}

	public function test_authenticate_refuses_a_banned_ip_without_hashing_the_password() {
		$this->service_bans( '203.0.113.7', '203.0.113.7' );
		$this->signon( 'someone', 'x' );
		$this->deliver();
		$checks = $this->count_password_checks();

		$result = $this->signon( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) );

		$this->assertInstanceOf( WP_Error::class, $result );
		$this->assertSame( 'edgejail_banned', $result->get_error_code() );
		$this->assertSame( 0, $checks['checks'] );
		$this->assertSame( array(), EdgeJail_Plugin::instance()->reporter()->pending() );
	}

	public function test_an_ipv6_ban_on_a_64_prefix_covers_the_whole_prefix() {
		$_SERVER['REMOTE_ADDR'] = '2001:db8:1:2::aa';
		$this->service_bans( '2001:db8:1:2::aa', '2001:DB8:1:2::/64' );
		$this->signon( 'v6', 'x' );
		$this->deliver();
		$cache = EdgeJail_Plugin::instance()->ban_cache();
		$this->assertTrue( $cache->is_banned( '2001:db8:1:2:ffff:ffff:ffff:ffff' ) );
		$this->assertFalse( $cache->is_banned( '2001:db8:1:3::aa' ) );
	}

	public function test_expired_or_malformed_decisions_are_ignored() {
		$cache = EdgeJail_Plugin::instance()->ban_cache();
		$this->assertSame(
			0,
			$cache->remember(
				array(
					array( 'ip' => '192.0.2.1', 'ip_key' => '192.0.2.1', 'jail' => 'x', 'banned_until' => gmdate( 'c', time() - 5 ) ),
					array( 'ip' => 'x', 'ip_key' => 'not-an-ip', 'jail' => 'x', 'banned_until' => gmdate( 'c', time() + 600 ) ),
					array( 'ip_key' => '192.0.2.2' ),
					'garbage',
				)
			)
		);
		$this->assertFalse( $cache->is_banned( '192.0.2.1' ) );
	}

	public function test_with_origin_fallback_off_nothing_is_cached_or_refused() {
		$this->configure( array( 'origin_bans' => false ) );
		$this->service_bans( '127.0.0.1', '127.0.0.1' );
		self::login_post();
		$this->assertSame( 200, self::login_post()['status'] );
		$this->assertFalse( EdgeJail_Plugin::instance()->ban_cache()->is_banned( '127.0.0.1' ) );
	}
}
