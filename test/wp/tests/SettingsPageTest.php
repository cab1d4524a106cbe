<?php
/**
 * Settings > EdgeJail, fetched and submitted over HTTP as an administrator would.
 */
class SettingsPageTest extends EdgeJail_Test_Case {

	const PAGE = '/wp-admin/options-general.php?page=edgejail';

	/** @var string */
	private $cookies;

	protected function setUp(): void {
		parent::setUp();
		$this->cookies = tempnam( sys_get_temp_dir(), 'edgejail-cookies' );
	}

	protected function tearDown(): void {
		@unlink( $this->cookies );
		// Emptied, not deleted: php-wasm's php -S (the PHP matrix) would still see a file
		// another process deleted, and fail to require it.
		if ( is_file( self::config_extra() ) ) {
			file_put_contents( self::config_extra(), "<?php\n" );
		}
		parent::tearDown();
	}

	private static function config_extra() {
		return getenv( 'WP_ENV_DIR' ) . '/wp-config-extra.php';
	}

	/**
	 * A request in this browser session (cookies kept).
	 */
	private function browse( $method, $path, ?array $fields = null, array $headers = array() ) {
		return self::browse_session( $this->cookies, $method, $path, $fields, $headers );
	}

	private function log_in( $user, $password ) {
		$this->browse( 'GET', '/wp-login.php' ); // Sets WordPress's test cookie.
		list( $status, $body ) = $this->browse( 'POST', '/wp-login.php', array( 'log' => $user, 'pwd' => $password, 'testcookie' => 1 ) );
		$this->assertSame( 200, $status );
		return $body;
	}

	private function page_as_admin() {
		$this->log_in( getenv( 'WP_ENV_ADMIN_USER' ), getenv( 'WP_ENV_ADMIN_PASSWORD' ) );
		list( $status, $html ) = $this->browse( 'GET', self::PAGE );
		$this->assertSame( 200, $status );
		$this->assertStringContainsString( 'id="edgejail-status"', $html );
		return $html;
	}

	/**
	 * The hidden fields of the settings form (option_page, _wpnonce, ...).
	 */
	private static function hidden_fields( $html, $form_action ) {
		$start = strpos( $html, 'action="' . $form_action );
		$end   = strpos( $html, '</form>', $start );
		preg_match_all( '/<input type=[\'"]hidden[\'"][^>]*? name=[\'"]([^\'"]+)[\'"][^>]*? value=[\'"]([^\'"]*)[\'"]/', substr( $html, $start, $end - $start ), $m, PREG_SET_ORDER );
		$fields = array();
		foreach ( $m as $match ) {
			$fields[ $match[1] ] = html_entity_decode( $match[2] );
		}
		return $fields;
	}

	public function test_the_settings_page_never_contains_the_secret() {
		$html = $this->page_as_admin();
		$this->assertStringNotContainsString( self::SECRET, $html );
		$this->assertStringContainsString( 'A secret is stored (not shown)', $html );
		$this->assertMatchesRegularExpression( '/<input type="password" id="edgejail_secret" name="edgejail_settings\[secret\]" value=""/', $html );
		$this->assertStringContainsString( esc_attr( self::$capture->url() ), $html, 'other settings are shown' );
		foreach ( array( 'Last event sent', 'Spooled events', 'Last error', 'Test connection' ) as $label ) {
			$this->assertStringContainsString( $label, $html );
		}
	}

	public function test_saving_with_an_empty_secret_keeps_the_stored_one_and_bad_values_are_refused() {
		$html   = $this->page_as_admin();
		$fields = self::hidden_fields( $html, self::$site->url() . '/wp-admin/options.php' );
		$this->assertSame( 'edgejail', $fields['option_page'] );
		list( $status, $after ) = $this->browse(
			'POST',
			'/wp-admin/options.php',
			array_merge(
				$fields,
				array(
					'edgejail_settings' => array(
						'url'               => 'ftp://nope',
						'site_id'           => 'renamed-site',
						'secret'            => '',
						'timeout'           => '0.8',
						'connect_timeout'   => '0.3',
						'spool_max'         => '500',
						'trusted_proxies'   => "10.0.0.0/8\nnot-an-ip\n192.0.2.1",
						'blocked_usernames' => "Administrator\n" . getenv( 'WP_ENV_USER' ),
						'origin_bans'       => '1',
					),
				)
			)
		);
		$this->assertSame( 200, $status );
		$this->assertStringContainsString( 'Service URL: the value is not valid and was not saved.', $after );
		$this->assertStringContainsString( 'is a real account on this site', $after );
		$this->assertStringNotContainsString( self::SECRET, $after );

		$stored = get_option_uncached( EdgeJail_Settings::OPTION );
		$this->assertSame( self::SECRET, $stored['secret'] );
		$this->assertSame( self::$capture->url(), $stored['url'] );
		$this->assertSame( 'renamed-site', $stored['site_id'] );
		$this->assertSame( 0.8, $stored['timeout'] );
		$this->assertSame( array( '10.0.0.0/8', '192.0.2.1' ), $stored['trusted_proxies'] );
		$this->assertSame( array( 'administrator', strtolower( getenv( 'WP_ENV_USER' ) ) ), $stored['blocked_usernames'] );
		$this->assertFalse( $stored['block_user_enumeration'] );
		$this->assertTrue( $stored['origin_bans'] );
	}

	public function test_the_status_box_says_why_plain_http_to_another_host_is_refused() {
		$this->configure( array( 'url' => 'http://192.0.2.1:8787' ) );
		$html = $this->page_as_admin();
		$this->assertStringContainsString( 'Refused: refusing plain http:// to a host other than this machine', $html );
		$this->assertStringContainsString( 'EDGEJAIL_ALLOW_HTTP', $html );

		$this->configure( array( 'url' => self::$capture->url() ) );
		$this->assertStringContainsString( 'plain HTTP on this machine; answers are verified against the site secret', $this->page_as_admin() );
	}

	public function test_a_new_secret_is_stored_but_never_shown() {
		$html   = $this->page_as_admin();
		$fields = self::hidden_fields( $html, self::$site->url() . '/wp-admin/options.php' );
		$this->browse( 'POST', '/wp-admin/options.php', array_merge( $fields, array( 'edgejail_settings' => array( 'url' => self::$capture->url(), 'site_id' => self::SITE_ID, 'secret' => 'brand-new-secret-xyz', 'timeout' => '1', 'connect_timeout' => '0.5', 'spool_max' => '1000' ) ) ) );
		$this->assertSame( 'brand-new-secret-xyz', get_option_uncached( EdgeJail_Settings::OPTION )['secret'] );
		list( , $again ) = $this->browse( 'GET', self::PAGE );
		$this->assertStringNotContainsString( 'brand-new-secret-xyz', $again );
	}

	public function test_constants_in_wp_config_lock_their_fields_and_win() {
		file_put_contents( self::config_extra(), "<?php\ndefine( 'EDGEJAIL_SECRET', 'secret-from-wp-config-123' );\ndefine( 'EDGEJAIL_SITE_ID', 'site-from-constant' );\n" );
		// The service knows the site by that secret from the start: it verifies the admin's
		// own sign-in report and signs its answer with it (an answer signed with another
		// secret would be refused and put delivery into backoff).
		self::$capture->expect_secret( 'secret-from-wp-config-123' );
		$html = $this->page_as_admin();
		$this->assertStringNotContainsString( 'secret-from-wp-config-123', $html );
		$this->assertStringContainsString( 'Set by EDGEJAIL_SECRET in wp-config.php.', $html );
		$this->assertStringContainsString( 'Set by EDGEJAIL_SITE_ID in wp-config.php.', $html );
		$this->assertMatchesRegularExpression( '/id="edgejail_site_id" name="edgejail_settings\[site_id\]" value="site-from-constant" class="regular-text" disabled="disabled"/', $html );
		$this->assertStringNotContainsString( 'Set by EDGEJAIL_URL', $html );

		// Requests of that site are signed with the constant's secret and site id.
		self::$capture->reset();
		self::$capture->expect_secret( 'secret-from-wp-config-123' );
		self::http( 'POST', '/wp-login.php', http_build_query( array( 'log' => 'someone', 'pwd' => 'x' ) ), array( 'Content-Type: application/x-www-form-urlencoded' ) );
		$request = self::$capture->requests()[0];
		$this->assertSame( 'site-from-constant', $request['site'] );
		$this->assertTrue( $request['signature_valid'] );
	}

	public function test_the_connection_test_sends_a_signed_hello_and_shows_the_answer() {
		$html   = $this->page_as_admin();
		$fields = self::hidden_fields( $html, self::$site->url() . '/wp-admin/admin-post.php' );
		$this->assertSame( 'edgejail_test_connection', $fields['action'] );
		self::$capture->reset();
		list( $status, $after ) = $this->browse( 'POST', '/wp-admin/admin-post.php', $fields );
		$this->assertSame( 200, $status );
		$this->assertStringContainsString( 'Connected: the service accepted a signed hello event.', $after );
		$requests = self::$capture->requests();
		$this->assertSame( array( 'hello' ), array_column( $requests[0]['events'], 'type' ) );
		$this->assertTrue( $requests[0]['signature_valid'] );

		self::$capture->server->stop();
		list( , $down ) = $this->browse( 'POST', '/wp-admin/admin-post.php', $fields );
		$this->assertStringContainsString( 'Connection failed: service unreachable', $down );
	}

	public function test_the_status_box_shows_the_login_shield_with_its_reason() {
		$this->assertStringContainsString( 'Login shield', $this->page_as_admin() );
		$status = EdgeJail_Plugin::instance()->status();
		$status->refresh();
		$status->record_shield( array( 'up' => true, 'since' => '2026-12-02T05:00:00.000Z', 'until' => gmdate( 'Y-m-d\TH:i:s.000\Z', time() + 1800 ), 'reason' => "312 failures from 211 IPs in 5m; 'admin' from 57 IPs" ) );
		$status->save();
		$html = $this->page_as_admin();
		$this->assertStringContainsString( 'Login shield up since ' . wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), strtotime( '2026-12-02T05:00:00Z' ) ), $html );
		$this->assertStringContainsString( esc_html( "(312 failures from 211 IPs in 5m; 'admin' from 57 IPs)" ), $html );
	}

	public function test_what_ip_do_you_see_me_as_warns_of_a_private_address_without_a_trusted_proxy() {
		$html = $this->page_as_admin();
		$this->assertStringContainsString( 'What IP do you see me as?', $html );
		$box = substr( $html, strpos( $html, 'id="edgejail-client-ip"' ) );
		$this->assertStringContainsString( '<code>127.0.0.1</code>', $box );
		$this->assertStringContainsString( 'direct: REMOTE_ADDR', $box );
		$this->assertStringContainsString( 'This is a private address and no trusted proxy is set', $box );
	}

	public function test_what_ip_do_you_see_me_as_follows_the_trusted_proxy_chain() {
		$this->configure( array( 'trusted_proxies' => array( '127.0.0.1' ) ) );
		$this->log_in( getenv( 'WP_ENV_ADMIN_USER' ), getenv( 'WP_ENV_ADMIN_PASSWORD' ) );
		list( , $html ) = $this->browse( 'GET', self::PAGE, null, array( 'X-Forwarded-For: 198.51.100.9, 10.0.0.8', 'CF-Connecting-IP: 192.0.2.99' ) );
		$box = substr( $html, strpos( $html, 'id="edgejail-client-ip"' ) );
		$this->assertStringContainsString( '<code>10.0.0.8</code>', $box, '10.0.0.8 is not trusted: it is the client' );
		$this->assertStringContainsString( 'through your trusted proxies', $box );
		$this->assertStringNotContainsString( 'no trusted proxy is set', $box );
		$this->assertStringContainsString( 'CF-Connecting-IP header was sent but ignored', $box );

		$this->configure( array( 'trusted_proxies' => array( '127.0.0.1', '10.0.0.0/8' ) ) );
		list( , $html ) = $this->browse( 'GET', self::PAGE, null, array( 'X-Forwarded-For: 198.51.100.9, 10.0.0.8' ) );
		$box = substr( $html, strpos( $html, 'id="edgejail-client-ip"' ) );
		$this->assertStringContainsString( '<code>198.51.100.9</code>', $box );
		$this->assertStringNotContainsString( 'edgejail-ip-warning', $box );
	}

	public function test_the_clear_ban_cache_button_empties_the_cache_and_needs_a_nonce() {
		$cache = EdgeJail_Plugin::instance()->ban_cache();
		$cache->remember( array( array( 'ip' => '198.51.100.66', 'ip_key' => '198.51.100.66', 'jail' => 'wordpress', 'banned_until' => gmdate( 'c', time() + 600 ) ) ) );
		$html = $this->page_as_admin();
		$this->assertStringContainsString( "Clear EdgeJail&#039;s ban cache", $html );

		list( $status ) = $this->browse( 'POST', '/wp-admin/admin-post.php', array( 'action' => 'edgejail_clear_ban_cache' ) );
		$this->assertSame( 403, $status, 'no nonce' );
		wp_cache_flush();
		$this->assertTrue( $cache->is_banned( '198.51.100.66' ) );

		$form   = strrpos( substr( $html, 0, strpos( $html, 'value="edgejail_clear_ban_cache"' ) ), '<form' );
		$fields = self::hidden_fields( substr( $html, $form ), self::$site->url() . '/wp-admin/admin-post.php' );
		$this->assertSame( 'edgejail_clear_ban_cache', $fields['action'] );
		list( $status, $after ) = $this->browse( 'POST', '/wp-admin/admin-post.php', $fields );
		$this->assertSame( 200, $status );
		$this->assertStringContainsString( 'ban cache was cleared', $after );
		wp_cache_flush();
		$this->assertFalse( $cache->is_banned( '198.51.100.66' ) );
	}

	public function test_admin_actions_need_a_nonce_and_the_capability() {
		$this->page_as_admin();
		list( $status ) = $this->browse( 'POST', '/wp-admin/admin-post.php', array( 'action' => 'edgejail_test_connection' ) );
		$this->assertSame( 403, $status, 'no nonce' );

		$this->cookies = tempnam( sys_get_temp_dir(), 'edgejail-cookies' );
		$this->log_in( getenv( 'WP_ENV_USER' ), getenv( 'WP_ENV_PASSWORD' ) );
		list( $status, $body ) = $this->browse( 'GET', self::PAGE );
		$this->assertSame( 403, $status );
		$this->assertStringNotContainsString( 'edgejail-status', $body );
	}
}

/**
 * The option as stored now (the php -S site changed it, not this process).
 */
function get_option_uncached( $name ) {
	wp_cache_delete( 'alloptions', 'options' );
	wp_cache_delete( $name, 'options' );
	return get_option( $name );
}
