<?php
/**
 * "Locked out? Get an unlock link" against the stand-in service: the form is on the 403,
 * answers alike whether the user exists, mails only users of the chosen roles, is
 * throttled, and its link works once, unexpired, from the asking address only.
 */
class SelfUnlockTest extends EdgeJail_Test_Case {

	const ADDRESS = '198.51.100.140';

	protected function setUp(): void {
		parent::setUp();
		$this->configure( array( 'trusted_proxies' => array( '127.0.0.1' ) ) );
		self::forget_mails();
		$admin = get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) );
		delete_user_meta( $admin->ID, EdgeJail_Self_Unlock::META );
		global $wpdb;
		$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE '%edgejail_unlock_%'" );
		wp_cache_flush();
	}

	public function test_the_403_at_wp_login_offers_the_unlock_form() {
		EdgeJail_Plugin::instance()->ban_cache()->remember( array( array( 'ip' => self::ADDRESS, 'ip_key' => self::ADDRESS, 'jail' => 'wordpress', 'banned_until' => gmdate( 'c', time() + 600 ) ) ) );
		update_option( EdgeJail_Status::OPTION, array_merge( EdgeJail_Status::defaults(), array( 'last_synced_at' => time() ) ) );
		$page = self::http( 'GET', '/wp-login.php', null, array( 'X-Forwarded-For: ' . self::ADDRESS ) );
		$this->assertSame( 403, $page['status'] );
		$this->assertStringContainsString( 'Locked out? Get an unlock link', $page['body'] );
		$this->assertStringContainsString( 'name="_wpnonce"', $page['body'] );
	}

	public function test_the_answer_is_the_same_whether_the_user_exists_may_unlock_or_not() {
		$admin      = self::ask_for_unlock_link( getenv( 'WP_ENV_ADMIN_USER' ), self::ADDRESS );
		$subscriber = self::ask_for_unlock_link( getenv( 'WP_ENV_USER' ), self::ADDRESS );
		$nobody     = self::ask_for_unlock_link( 'no-such-user-' . wp_rand(), self::ADDRESS );
		$notice     = function ( $response ) {
			preg_match( '#<p id="edgejail-notice">(.*?)</p>#', $response['body'], $m );
			return array( $response['status'], $m[1] );
		};
		$this->assertSame( $notice( $admin ), $notice( $subscriber ) );
		$this->assertSame( $notice( $admin ), $notice( $nobody ) );
		$this->assertStringContainsString( 'If that account may unlock this site', $notice( $admin )[1] );

		$mails = self::mails();
		$this->assertCount( 1, $mails, 'only the administrator (a chosen role) gets a mail' );
		$admin_user = get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) );
		$this->assertSame( $admin_user->user_email, is_array( $mails[0]['to'] ) ? $mails[0]['to'][0] : $mails[0]['to'] );
		$this->assertStringContainsString( self::ADDRESS, $mails[0]['message'] );

		wp_cache_flush();
		$stored = get_user_meta( $admin_user->ID, EdgeJail_Self_Unlock::META, true );
		parse_str( (string) wp_parse_url( self::unlock_link_in( $mails[0] ), PHP_URL_QUERY ), $query );
		$this->assertNotSame( $query['t'], $stored['hash'], 'only a hash of the token is stored' );
		$this->assertStringNotContainsString( $query['t'], serialize( $stored ) );
		$this->assertSame( self::ADDRESS, $stored['ip'] );
		$this->assertEqualsWithDelta( time() + 900, $stored['expires'], 60 );
	}

	public function test_requests_are_throttled_per_user_and_per_address() {
		for ( $i = 0; $i < 3; $i++ ) {
			self::ask_for_unlock_link( getenv( 'WP_ENV_ADMIN_USER' ), '198.51.100.' . ( 150 + $i ) );
		}
		$this->assertCount( 1, self::mails(), 'one mail per user per 15 minutes, whichever address asks' );

		for ( $i = 0; $i < 7; $i++ ) {
			$last = self::ask_for_unlock_link( 'no-such-user-' . $i, '198.51.100.160' );
		}
		$this->assertSame( 200, $last['status'], 'throttled, with the same answer' );
		global $wpdb;
		wp_cache_flush();
		$this->assertSame( '5', (string) get_transient( EdgeJail_Self_Unlock::THROTTLE_IP . md5( '198.51.100.160' ) ) );
	}

	public function test_the_link_works_once_from_the_asking_address_and_sends_a_signed_self_unlock() {
		self::ask_for_unlock_link( getenv( 'WP_ENV_ADMIN_USER' ), self::ADDRESS );
		$link = self::unlock_link_in( self::mails()[0] );
		self::$capture->reset();

		$elsewhere = self::http( 'GET', $link, null, array( 'X-Forwarded-For: 192.0.2.200' ) );
		$this->assertSame( 403, $elsewhere['status'] );
		$this->assertStringContainsString( 'network you asked from', $elsewhere['body'] );
		$this->assertSame( array(), self::$capture->requests() );

		$opened = self::http( 'GET', $link, null, array( 'X-Forwarded-For: ' . self::ADDRESS ) );
		$this->assertSame( 200, $opened['status'], $opened['body'] );
		$this->assertStringContainsString( 'Your address is unlocked', $opened['body'] );
		$requests = self::$capture->requests();
		$this->assertCount( 1, $requests );
		$this->assertTrue( $requests[0]['signature_valid'] );
		$this->assertSame( 'self_unlock', $requests[0]['events'][0]['type'] );
		$this->assertSame( self::ADDRESS, $requests[0]['events'][0]['ip'] );
		$this->assertSame( getenv( 'WP_ENV_ADMIN_USER' ), $requests[0]['events'][0]['username'] );

		$again = self::http( 'GET', $link, null, array( 'X-Forwarded-For: ' . self::ADDRESS ) );
		$this->assertSame( 403, $again['status'], 'single use' );
		$this->assertStringContainsString( 'not valid', $again['body'] );
	}

	public function test_an_expired_link_is_refused_and_a_service_failure_keeps_the_link() {
		self::ask_for_unlock_link( getenv( 'WP_ENV_ADMIN_USER' ), self::ADDRESS );
		$link = self::unlock_link_in( self::mails()[0] );

		self::$capture->respond( '/v1/events', array( 'status' => 503, 'body' => array( 'error' => 'overloaded', 'message' => 'later' ) ) );
		$down = self::http( 'GET', $link, null, array( 'X-Forwarded-For: ' . self::ADDRESS ) );
		$this->assertSame( 503, $down['status'] );
		self::$capture->reset();
		$this->assertSame( 200, self::http( 'GET', $link, null, array( 'X-Forwarded-For: ' . self::ADDRESS ) )['status'], 'the link still works once the service is back' );

		self::forget_mails();
		delete_transient( EdgeJail_Self_Unlock::THROTTLE_USER . get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) )->ID );
		self::ask_for_unlock_link( getenv( 'WP_ENV_ADMIN_USER' ), self::ADDRESS );
		$link  = self::unlock_link_in( self::mails()[0] );
		$admin = get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) );
		wp_cache_flush();
		$meta            = get_user_meta( $admin->ID, EdgeJail_Self_Unlock::META, true );
		$meta['expires'] = time() - 1;
		update_user_meta( $admin->ID, EdgeJail_Self_Unlock::META, $meta );
		$expired = self::http( 'GET', $link, null, array( 'X-Forwarded-For: ' . self::ADDRESS ) );
		$this->assertSame( 403, $expired['status'] );
		$this->assertStringContainsString( 'expired', $expired['body'] );
	}
}
