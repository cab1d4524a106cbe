<?php
/**
 * The plugin against the real EdgeJail service (server/main.ts): five wrong passwords
 * posted to wp-login.php become a ban the service's CLI lists, and the origin then
 * refuses the attacker by itself.
 */
class RealServiceTest extends EdgeJail_Test_Case {

	/** An address no jail refuses to ban (not loopback, private or Cloudflare). */
	const ATTACKER = '198.51.100.77';

	/** @var resource|null */
	private static $service;

	/** @var array */
	private static $env;

	/** @var int */
	private static $port;

	/** @var string */
	private static $data_dir;

	/** @var array{id:string, secret:string} */
	private static $site_credentials;

	private static function repo() {
		return dirname( __DIR__, 3 );
	}

	public static function setUpBeforeClass(): void {
		if ( ! is_file( self::repo() . '/server/main.ts' ) ) {
			return;
		}
		$data       = sys_get_temp_dir() . '/edgejail-wp-real-service-' . getmypid();
		self::$data_dir = $data;
		self::$port = EdgeJail_Test_Background_Server::free_port();
		@mkdir( $data, 0700, true );
		self::$env = array_merge(
			getenv(),
			array(
				'EDGEJAIL_DATA_DIR'    => $data,
				'EDGEJAIL_PORT'        => (string) self::$port,
				'EDGEJAIL_ADMIN_TOKEN' => 'wp-test-admin-token-' . bin2hex( random_bytes( 8 ) ),
				'EDGEJAIL_LOG_LEVEL'   => 'warn',
			)
		);
		self::$service = proc_open(
			array( 'node', '--import', 'tsx', 'server/main.ts' ),
			array( 0 => array( 'file', '/dev/null', 'r' ), 1 => array( 'file', $data . '/service.log', 'a' ), 2 => array( 'file', $data . '/service.log', 'a' ) ),
			$pipes,
			self::repo(),
			self::$env
		);
		for ( $i = 0; $i < 300; $i++ ) {
			$socket = @fsockopen( '127.0.0.1', self::$port, $errno, $errstr, 0.1 );
			if ( $socket ) {
				fclose( $socket );
				break;
			}
			if ( ! proc_get_status( self::$service )['running'] ) {
				break;
			}
			usleep( 100000 );
		}
		$credentials = json_decode( self::cli( 'site add wp-real-service-test --json' ), true );
		if ( is_array( $credentials ) && isset( $credentials['id'], $credentials['secret'] ) ) {
			self::$site_credentials = $credentials;
		}
	}

	public static function tearDownAfterClass(): void {
		if ( self::$service ) {
			$status = proc_get_status( self::$service );
			if ( $status['running'] ) {
				EdgeJail_Test_Background_Server::terminate( $status['pid'] );
			}
			proc_close( self::$service );
			self::$service = null;
		}
		if ( self::$data_dir && 0 === strpos( self::$data_dir, sys_get_temp_dir() . '/edgejail-wp-real-service-' ) ) {
			exec( 'rm -rf ' . escapeshellarg( self::$data_dir ) );
		}
	}

	/**
	 * `npx edgejail ...` with the service's environment; stdout.
	 */
	private static function cli( $args ) {
		$process = proc_open( 'npx --no-install edgejail ' . $args, array( 0 => array( 'file', '/dev/null', 'r' ), 1 => array( 'pipe', 'w' ), 2 => array( 'pipe', 'w' ) ), $pipes, self::repo(), self::$env );
		$out     = stream_get_contents( $pipes[1] );
		$err     = stream_get_contents( $pipes[2] );
		fclose( $pipes[1] );
		fclose( $pipes[2] );
		$code = proc_close( $process );
		if ( 0 !== $code ) {
			throw new RuntimeException( "npx edgejail $args failed ($code): $err" );
		}
		return $out;
	}

	protected function setUp(): void {
		if ( ! is_file( self::repo() . '/server/main.ts' ) ) {
			$this->markTestSkipped( 'server/main.ts does not exist yet: the real-service test needs the EdgeJail service' );
		}
		parent::setUp();
		$this->assertNotNull( self::$site_credentials, 'the service started and `edgejail site add --json` printed {id, secret}' );
	}

	private static function wrong_password_from_attacker() {
		return self::http(
			'POST',
			'/wp-login.php',
			http_build_query( array( 'log' => getenv( 'WP_ENV_USER' ), 'pwd' => 'guess-' . wp_rand() ) ),
			// php -S on 127.0.0.1 plays a reverse proxy the site trusts.
			array( 'Content-Type: application/x-www-form-urlencoded', 'X-Forwarded-For: ' . self::ATTACKER, 'User-Agent: brute-forcer/1.0' )
		);
	}

	public function test_five_wrong_passwords_become_a_ban_listed_by_the_cli_and_enforced_at_the_origin() {
		$this->configure(
			array(
				'url'             => 'http://127.0.0.1:' . self::$port,
				'site_id'         => self::$site_credentials['id'],
				'secret'          => self::$site_credentials['secret'],
				'trusted_proxies' => array( '127.0.0.1' ),
			)
		);
		// The service knows the site: the signed hello is accepted.
		EdgeJail_Plugin::instance()->report_hello();
		$this->assertSame( 'sent', $this->deliver(), (string) $this->status( 'last_error' ) );

		for ( $i = 1; $i <= 5; $i++ ) {
			$this->assertSame( 200, self::wrong_password_from_attacker()['status'], "attempt $i reaches WordPress" );
		}
		$this->assertSame( '', $this->status( 'last_error' ), 'the service accepted every batch' );
		$this->assertSame( 0, $this->spool_count() );

		$bans = json_decode( self::cli( 'bans --json' ), true );
		$this->assertIsArray( $bans );
		$ours = array_values( array_filter( $bans, function ( $ban ) { return self::ATTACKER === $ban['ip_key']; } ) );
		$this->assertCount( 1, $ours, 'bans: ' . json_encode( $bans ) );
		$this->assertSame( 'wordpress', $ours[0]['jail'] );
		$this->assertGreaterThan( time(), strtotime( $ours[0]['expires_at'] ) );

		// The fifth answer carried the decision: the origin refuses the attacker on its own.
		$this->assertTrue( EdgeJail_Plugin::instance()->ban_cache()->is_banned( self::ATTACKER ) );
		$this->assertSame( 403, self::wrong_password_from_attacker()['status'] );
		$this->assertSame( 200, self::http( 'GET', '/wp-login.php' )['status'], 'other clients still get the login page' );

		// Unbanned at the service: the next report of anyone's brings the unban to the origin.
		self::cli( 'unban ' . self::ATTACKER );
		$this->assertTrue( EdgeJail_Plugin::instance()->ban_cache()->is_banned( self::ATTACKER ), 'not heard of yet' );
		self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => 'nobody', 'pwd' => 'x' ) ), array( 'Content-Type: application/x-www-form-urlencoded', 'X-Forwarded-For: 198.51.100.78' ) );
		wp_cache_flush();
		$this->assertFalse( EdgeJail_Plugin::instance()->ban_cache()->is_banned( self::ATTACKER ), 'the answer listed the unban' );
		$this->assertSame( 200, self::wrong_password_from_attacker()['status'], 'the origin no longer refuses the unbanned address' );
	}
	public function test_a_locked_out_administrator_unlocks_by_mail_and_the_ban_is_gone_in_the_service() {
		$owner = '198.51.100.79';
		$this->configure(
			array(
				'url'             => 'http://127.0.0.1:' . self::$port,
				'site_id'         => self::$site_credentials['id'],
				'secret'          => self::$site_credentials['secret'],
				'trusted_proxies' => array( '127.0.0.1' ),
			)
		);
		self::forget_mails();
		global $wpdb;
		$wpdb->query( "DELETE FROM {$wpdb->options} WHERE option_name LIKE '%edgejail_unlock_%'" );
		$login = array( 'Content-Type: application/x-www-form-urlencoded', 'X-Forwarded-For: ' . $owner );
		for ( $i = 1; $i <= 5; $i++ ) {
			self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => getenv( 'WP_ENV_ADMIN_USER' ), 'pwd' => 'typo-' . $i ) ), $login );
		}
		$locked = self::http( 'GET', '/wp-login.php', null, array( 'X-Forwarded-For: ' . $owner ) );
		$this->assertSame( 403, $locked['status'], 'the owner locked themself out' );
		$this->assertStringContainsString( 'Locked out? Get an unlock link', $locked['body'] );
		$active = function () use ( $owner ) {
			return array_values( array_filter( json_decode( self::cli( 'bans --json' ), true ), function ( $ban ) use ( $owner ) { return $owner === $ban['ip_key']; } ) );
		};
		$this->assertCount( 1, $active() );

		self::ask_for_unlock_link( getenv( 'WP_ENV_ADMIN_USER' ), $owner );
		$mails = self::mails();
		$this->assertCount( 1, $mails, 'the link was mailed through wp_mail()' );
		$opened = self::http( 'GET', self::unlock_link_in( $mails[0] ), null, array( 'X-Forwarded-For: ' . $owner ) );
		$this->assertSame( 200, $opened['status'], $opened['body'] );
		$this->assertStringContainsString( 'Your address is unlocked', $opened['body'] );

		$this->assertSame( array(), $active(), 'the ban is gone in the service' );
		$allowlist = json_decode( self::cli( 'allowlist --json' ), true );
		$entry     = array_values( array_filter( $allowlist['runtime'], function ( $e ) use ( $owner ) { return $owner === $e['cidr']; } ) );
		$this->assertCount( 1, $entry, 'allowlisted for unlock_ttl' );
		$this->assertSame( 'user:' . getenv( 'WP_ENV_ADMIN_USER' ), $entry[0]['created_by'] );
		$this->assertGreaterThan( time() + 23 * 3600, strtotime( $entry[0]['expires_at'] ) );

		wp_cache_flush();
		$this->assertFalse( EdgeJail_Plugin::instance()->ban_cache()->is_banned( $owner ), 'the origin forgot the ban' );
		$this->assertSame( 200, self::http( 'GET', '/wp-login.php', null, array( 'X-Forwarded-For: ' . $owner ) )['status'] );
	}
}
