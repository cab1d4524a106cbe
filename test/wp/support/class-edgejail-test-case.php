<?php
/**
 * Base for tests running inside the real WordPress: every test starts from a clean
 * plugin state, pointed at the capture service, with a non-Cloudflare client address.
 */
abstract class EdgeJail_Test_Case extends PHPUnit\Framework\TestCase {

	const SITE_ID = 'site-under-test';
	const SECRET  = 'test-secret-4f1c2e9a7b';

	/** @var EdgeJail_Test_Capture_Service */
	public static $capture;

	/** @var EdgeJail_Test_Background_Server */
	public static $site;

	protected function setUp(): void {
		parent::setUp();
		self::reset_plugin_state( $this->default_settings() );
		$_SERVER['REMOTE_ADDR']     = '203.0.113.7';
		$_SERVER['HTTP_USER_AGENT'] = 'EdgeJail-Test/1.0';
		$_SERVER['REQUEST_URI']     = '/wp-login.php';
		unset( $_SERVER['HTTP_CF_CONNECTING_IP'], $_SERVER['HTTP_X_FORWARDED_FOR'], $_SERVER['PHP_AUTH_USER'], $_SERVER['HTTP_AUTHORIZATION'] );
	}

	protected function tearDown(): void {
		if ( ! self::$capture->server->is_running() ) {
			self::$capture->server->start();
		}
		wp_set_current_user( 0 );
		parent::tearDown();
	}

	/**
	 * Settings every test starts with.
	 */
	protected function default_settings() {
		return array_merge(
			EdgeJail_Settings::defaults(),
			array(
				'url'     => self::$capture->url(),
				'site_id' => self::SITE_ID,
				'secret'  => self::SECRET,
			)
		);
	}

	/**
	 * Empty spool, fresh status, no cached bans, the given settings, nothing queued,
	 * nothing captured.
	 */
	public static function reset_plugin_state( array $settings ) {
		global $wpdb;
		$plugin = EdgeJail_Plugin::instance();
		$wpdb->query( 'TRUNCATE TABLE ' . EdgeJail_Spool::table() );
		update_option( EdgeJail_Status::OPTION, EdgeJail_Status::defaults() );
		update_option( EdgeJail_Cloudflare_Ranges::OPTION, EdgeJail_Cloudflare_Ranges::bundled(), true );
		$plugin->cloudflare_ranges()->reset();
		EdgeJail_Ban_Cache::forget_all();
		// Both processes (this one and the php -S site) must name cache entries alike.
		delete_site_option( EdgeJail_Ban_Cache::GENERATION );
		delete_site_option( EdgeJail_Settings::NETWORK_OPTION );
		delete_transient( EdgeJail_Plugin::SYNC_CLAIM );
		wp_cache_delete( 'alloptions', 'options' );
		update_option( EdgeJail_Settings::OPTION, $settings );
		$plugin->settings()->refresh();
		$plugin->status()->refresh();
		self::discard_pending();
		self::$capture->expect_secret( self::SECRET );
		self::$capture->reset();
	}

	/**
	 * Drops events queued by setup itself (the hello a settings change queues).
	 */
	public static function discard_pending() {
		$reporter = EdgeJail_Plugin::instance()->reporter();
		$ref      = new ReflectionProperty( $reporter, 'pending' );
		if ( PHP_VERSION_ID < 80100 ) {
			$ref->setAccessible( true );
		}
		$ref->setValue( $reporter, array() );
		$ref = new ReflectionProperty( $reporter, 'aggregates' );
		if ( PHP_VERSION_ID < 80100 ) {
			$ref->setAccessible( true );
		}
		$ref->setValue( $reporter, array() );
	}

	/**
	 * Changes some settings (and drops the hello that queues).
	 */
	protected function configure( array $changes ) {
		$settings = array_merge( get_option( EdgeJail_Settings::OPTION ), $changes );
		update_option( EdgeJail_Settings::OPTION, $settings );
		EdgeJail_Plugin::instance()->settings()->refresh();
		self::discard_pending();
	}

	/**
	 * What the shutdown hook does once the response is out.
	 */
	protected function deliver() {
		return EdgeJail_Plugin::instance()->reporter()->deliver();
	}

	protected function status( $key ) {
		$status = EdgeJail_Plugin::instance()->status();
		$status->refresh();
		return $status->get( $key );
	}

	protected function spool_count() {
		return EdgeJail_Plugin::instance()->spool()->count();
	}

	/**
	 * A real login through wp_signon(), as wp-login.php and WooCommerce do it.
	 */
	protected function signon( $username, $password ) {
		return wp_signon(
			array(
				'user_login'    => $username,
				'user_password' => $password,
				'remember'      => false,
			),
			false
		);
	}

	/**
	 * Counts password hash checks (wp_check_password runs the check_password filter).
	 */
	protected function count_password_checks() {
		$counter = new ArrayObject( array( 'checks' => 0 ) );
		add_filter(
			'check_password',
			function ( $check ) use ( $counter ) {
				$counter['checks']++;
				return $check;
			}
		);
		return $counter;
	}

	/**
	 * An HTTP request to the site served by `php -S`.
	 *
	 * @return array{status:int, body:string, headers:string}
	 */
	protected static function http( $method, $path, $body = null, array $headers = array() ) {
		$curl = curl_init( self::$site->url() . $path );
		curl_setopt_array(
			$curl,
			array(
				CURLOPT_CUSTOMREQUEST  => $method,
				CURLOPT_RETURNTRANSFER => true,
				CURLOPT_HEADER         => true,
				CURLOPT_HTTPHEADER     => array_merge( array( 'Expect:' ), $headers ),
				CURLOPT_TIMEOUT        => 30,
			)
		);
		if ( null !== $body ) {
			curl_setopt( $curl, CURLOPT_POSTFIELDS, $body );
		}
		$raw = curl_exec( $curl );
		if ( false === $raw ) {
			throw new RuntimeException( 'HTTP request failed: ' . curl_error( $curl ) );
		}
		$status      = curl_getinfo( $curl, CURLINFO_RESPONSE_CODE );
		$header_size = curl_getinfo( $curl, CURLINFO_HEADER_SIZE );
		if ( PHP_VERSION_ID < 80000 ) {
			curl_close( $curl );
		}
		return array(
			'status'  => $status,
			'headers' => substr( $raw, 0, $header_size ),
			'body'    => substr( $raw, $header_size ),
		);
	}

	/**
	 * A request in one browser session of the site served by `php -S`: cookies kept in the
	 * file $jar, redirects followed, form fields posted url-encoded.
	 *
	 * @return array{0:int, 1:string} status and body
	 */
	protected static function browse_session( $jar, $method, $path, ?array $fields = null, array $headers = array() ) {
		$curl = curl_init( self::$site->url() . $path );
		curl_setopt_array(
			$curl,
			array(
				CURLOPT_CUSTOMREQUEST  => $method,
				CURLOPT_RETURNTRANSFER => true,
				CURLOPT_COOKIEFILE     => $jar,
				CURLOPT_COOKIEJAR      => $jar,
				CURLOPT_FOLLOWLOCATION => true,
				CURLOPT_HTTPHEADER     => array_merge( array( 'Expect:' ), $headers ),
				CURLOPT_TIMEOUT        => 30,
			)
		);
		if ( null !== $fields ) {
			curl_setopt( $curl, CURLOPT_POSTFIELDS, http_build_query( $fields ) );
		}
		$body   = curl_exec( $curl );
		$status = curl_getinfo( $curl, CURLINFO_RESPONSE_CODE );
		if ( PHP_VERSION_ID < 80000 ) {
			curl_close( $curl );
		}
		return array( $status, (string) $body );
	}

	/**
	 * Mails the site sent (mu-plugin edgejail-test-mail-capture.php), oldest first.
	 *
	 * @return array[] to, subject, message, ...
	 */
	protected static function mails() {
		$file = WP_CONTENT_DIR . '/edgejail-test-mail.jsonl';
		return is_file( $file ) ? array_map( function ( $line ) { return json_decode( $line, true ); }, file( $file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES ) ) : array();
	}

	protected static function forget_mails() {
		@unlink( WP_CONTENT_DIR . '/edgejail-test-mail.jsonl' );
	}

	/**
	 * Asks for an unlock link the way the 403 page's form does, from an address.
	 *
	 * @return array The HTTP response.
	 */
	protected static function ask_for_unlock_link( $user, $forwarded_for ) {
		$headers = array( 'X-Forwarded-For: ' . $forwarded_for );
		$form    = self::http( 'GET', '/wp-login.php?edgejail-unlock=1', null, $headers );
		if ( ! preg_match( '/name="_wpnonce" value="([^"]+)"/', $form['body'], $nonce ) ) {
			throw new RuntimeException( 'no unlock form: ' . substr( $form['body'], 0, 500 ) );
		}
		return self::http( 'POST', '/wp-login.php?edgejail-unlock=1', http_build_query( array( '_wpnonce' => $nonce[1], 'user' => $user ) ), array_merge( $headers, array( 'Content-Type: application/x-www-form-urlencoded' ) ) );
	}

	/**
	 * The unlock link in a mail, as a path on the site.
	 */
	protected static function unlock_link_in( array $mail ) {
		if ( ! preg_match( '#https?://[^/\s]+(/wp-login\.php\?\S*edgejail-unlock\S*)#', $mail['message'], $m ) ) {
			throw new RuntimeException( 'no unlock link in: ' . $mail['message'] );
		}
		return html_entity_decode( $m[1] );
	}

	/**
	 * An XML-RPC call body.
	 */
	protected static function xmlrpc_body( $method, array $params ) {
		$request = new IXR_Request( $method, $params );
		return $request->getXml();
	}

	protected static function assertUuid( $value ) {
		self::assertMatchesRegularExpression( '/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $value );
	}
}
