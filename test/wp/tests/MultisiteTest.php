<?php
/**
 * The plugin on a real subdirectory network (scripts/wp-env.sh with WP_ENV_MULTISITE=1:
 * blogs / and /second/, the plugin network-activated): activation both ways, new blogs,
 * one identity for the network with each blog's URL in its events, the network settings
 * page and its locks, the spool per blog, the ban cache shared, uninstall everywhere.
 */
class MultisiteTest extends EdgeJail_Test_Case {

	const PLUGIN = 'edgejail/edgejail.php';

	/** @var int */
	private static $second;

	/** @var int[] Blogs a test created, deleted after it. */
	private $created = array();

	public static function setUpBeforeClass(): void {
		parent::setUpBeforeClass();
		if ( ! is_multisite() ) {
			self::fail( 'not a multisite install: run with WP_ENV_MULTISITE=1 (test/wp/run-multisite.sh)' );
		}
		require_once ABSPATH . 'wp-admin/includes/plugin.php';
		require_once ABSPATH . 'wp-admin/includes/template.php';
		require_once ABSPATH . 'wp-admin/includes/misc.php';
		require_once EDGEJAIL_PLUGIN_DIR . '/includes/class-edgejail-network-admin-page.php';
		self::$second = (int) domain_exists( '127.0.0.1', '/second/' );
		if ( ! self::$second || get_main_site_id() === self::$second ) {
			self::fail( 'the test network has no blog /second/' );
		}
	}

	protected function setUp(): void {
		if ( ! is_plugin_active_for_network( self::PLUGIN ) ) {
			activate_plugin( self::PLUGIN, '', true );
		}
		parent::setUp();
		self::on_blog(
			self::$second,
			function () {
				self::reset_plugin_state( $this->default_settings() );
			}
		);
		self::$capture->reset();
	}

	protected function tearDown(): void {
		while ( ms_is_switched() ) {
			restore_current_blog();
		}
		foreach ( $this->created as $blog_id ) {
			wp_delete_site( $blog_id );
		}
		delete_site_option( EdgeJail_Settings::NETWORK_OPTION );
		EdgeJail_Plugin::instance()->settings()->refresh();
		if ( ! is_plugin_active_for_network( self::PLUGIN ) ) {
			activate_plugin( self::PLUGIN, '', true );
		}
		self::discard_pending();
		parent::tearDown();
	}

	/**
	 * Runs $work on a blog, as a request to that blog would.
	 */
	private static function on_blog( $blog_id, callable $work ) {
		switch_to_blog( $blog_id );
		try {
			EdgeJail_Plugin::instance()->status()->refresh();
			return $work();
		} finally {
			restore_current_blog();
			EdgeJail_Plugin::instance()->status()->refresh();
		}
	}

	public static function blog_ready() {
		global $wpdb;
		$table = EdgeJail_Spool::table();
		return array(
			'table'    => $table === $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $table ) ),
			'settings' => false !== get_option( EdgeJail_Settings::OPTION ),
			'version'  => (string) get_option( EdgeJail_Lifecycle::DB_VERSION_OPTION ),
			'flush'    => false !== wp_next_scheduled( EdgeJail_Cron::FLUSH_HOOK ),
		);
	}

	private static function ready() {
		return array(
			'table'    => true,
			'settings' => true,
			'version'  => (string) EdgeJail_Lifecycle::DB_VERSION,
			'flush'    => true,
		);
	}

	private static function not_ready() {
		return array(
			'table'    => false,
			'settings' => false,
			'version'  => '',
			'flush'    => false,
		);
	}

	private function create_blog( $slug ) {
		$blog_id = wp_insert_site(
			array(
				'domain' => '127.0.0.1',
				'path'   => '/' . $slug . '-' . wp_rand() . '/',
				'title'  => 'EdgeJail ' . $slug,
			)
		);
		$this->assertIsInt( $blog_id, is_wp_error( $blog_id ) ? $blog_id->get_error_message() : '' );
		$this->created[] = $blog_id;
		return $blog_id;
	}

	/**
	 * The network's identity, locked, as a network admin sets it up.
	 */
	private static function lock_network_identity( array $extra_values = array(), array $extra_locks = array() ) {
		update_site_option(
			EdgeJail_Settings::NETWORK_OPTION,
			array(
				'values' => array_merge(
					array(
						'url'     => self::$capture->url(),
						'site_id' => 'the-network',
						'secret'  => 'network-secret-9c1d',
					),
					$extra_values
				),
				'locked' => array_merge( array( 'url', 'site_id', 'secret' ), $extra_locks ),
			)
		);
		self::$capture->expect_secret( 'network-secret-9c1d' );
	}

	/**
	 * What wp_die() would have answered, as an exception (the page is rendered in this process).
	 */
	private static function render_page( callable $render ) {
		$die = function () {
			return function ( $message, $title = '', $args = array() ) {
				throw new RuntimeException( 'wp_die ' . ( is_array( $args ) && isset( $args['response'] ) ? $args['response'] : '' ) . ': ' . ( is_string( $message ) ? $message : '' ) );
			};
		};
		add_filter( 'wp_die_handler', $die );
		ob_start();
		try {
			$render();
			return ob_get_contents();
		} finally {
			ob_end_clean();
			remove_filter( 'wp_die_handler', $die );
		}
	}

	private static function blog_admin() {
		$user = get_user_by( 'login', 'second-admin' );
		if ( ! $user ) {
			$id = wpmu_create_user( 'second-admin', 'second-admin-pw-1', 'second-admin@example.test' );
			add_user_to_blog( self::$second, $id, 'administrator' );
			$user = get_user_by( 'id', $id );
		}
		return $user;
	}

	// ---- activation ----

	public function test_network_activation_sets_up_every_blog() {
		deactivate_plugins( self::PLUGIN, false, true );
		$this->assertFalse( is_plugin_active_for_network( self::PLUGIN ) );
		foreach ( array( get_main_site_id(), self::$second ) as $blog_id ) {
			$this->assertFalse( self::on_blog( $blog_id, function () { return wp_next_scheduled( EdgeJail_Cron::FLUSH_HOOK ); } ), "network deactivation stops blog $blog_id's jobs" );
		}

		$this->assertNull( activate_plugin( self::PLUGIN, '', true ) );

		$this->assertTrue( is_plugin_active_for_network( self::PLUGIN ) );
		$this->assertSame( 2, count( get_sites( array( 'fields' => 'ids' ) ) ) );
		foreach ( get_sites( array( 'fields' => 'ids' ) ) as $blog_id ) {
			$this->assertSame( self::ready(), self::on_blog( $blog_id, array( __CLASS__, 'blog_ready' ) ), "blog $blog_id" );
			$this->assertTrue( self::on_blog( $blog_id, function () { return is_plugin_active( MultisiteTest::PLUGIN ); } ) );
		}
	}

	public function test_activation_on_one_blog_of_the_network_sets_up_that_blog_only() {
		deactivate_plugins( self::PLUGIN, false, true );
		$fresh = $this->create_blog( 'per-site' );
		$this->assertSame( self::not_ready(), self::on_blog( $fresh, array( __CLASS__, 'blog_ready' ) ), 'not network-active: a new blog gets nothing' );

		$result = self::on_blog( $fresh, function () { return activate_plugin( MultisiteTest::PLUGIN ); } );

		$this->assertNull( $result );
		$this->assertFalse( is_plugin_active_for_network( self::PLUGIN ) );
		$this->assertTrue( self::on_blog( $fresh, function () { return is_plugin_active( MultisiteTest::PLUGIN ); } ) );
		$this->assertFalse( self::on_blog( self::$second, function () { return is_plugin_active( MultisiteTest::PLUGIN ); } ) );
		$this->assertSame( self::ready(), self::on_blog( $fresh, array( __CLASS__, 'blog_ready' ) ) );
		$this->assertFalse( self::on_blog( self::$second, function () { return wp_next_scheduled( EdgeJail_Cron::FLUSH_HOOK ); } ), 'the other blogs are left alone' );
		self::on_blog( $fresh, function () { deactivate_plugins( MultisiteTest::PLUGIN ); } );
	}

	public function test_a_blog_created_after_network_activation_is_set_up_at_once() {
		$this->assertTrue( is_plugin_active_for_network( self::PLUGIN ) );

		$blog_id = $this->create_blog( 'later' );

		$this->assertSame( self::ready(), self::on_blog( $blog_id, array( __CLASS__, 'blog_ready' ) ) );
		$this->assertSame( array(), self::on_blog( $blog_id, function () { return get_option( EdgeJail_Settings::OPTION ); } ), 'it stores nothing of its own: it follows the network' );
	}

	public function test_deleting_a_blog_drops_its_spool_table() {
		global $wpdb;
		$blog_id = $this->create_blog( 'deleted' );
		$table   = $wpdb->get_blog_prefix( $blog_id ) . 'edgejail_spool';
		$this->assertSame( $table, $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $table ) ) );

		wp_delete_site( $blog_id );
		$this->created = array();

		$this->assertNull( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', $table ) ) );
		$this->assertNotNull( $wpdb->get_var( $wpdb->prepare( 'SHOW TABLES LIKE %s', EdgeJail_Spool::table() ) ), 'the other blogs keep theirs' );
	}

	// ---- identity ----

	public function test_every_blog_reports_under_the_networks_id_with_its_own_url() {
		foreach ( array( get_main_site_id(), self::$second ) as $blog_id ) {
			self::on_blog( $blog_id, function () { update_option( EdgeJail_Settings::OPTION, array() ); } );
		}
		self::lock_network_identity();
		self::discard_pending();

		$urls = array();
		foreach ( array( get_main_site_id(), self::$second ) as $blog_id ) {
			$urls[] = self::on_blog(
				$blog_id,
				function () {
					$this->assertInstanceOf( WP_Error::class, $this->signon( 'alice', 'wrong-password' ) );
					$this->assertSame( 'sent', $this->deliver() );
					return home_url( '/' );
				}
			);
		}

		$this->assertSame( array( 'http://127.0.0.1/', 'http://127.0.0.1/second/' ), $urls );
		$requests = self::$capture->requests();
		$this->assertCount( 2, $requests );
		foreach ( $requests as $i => $request ) {
			$this->assertTrue( $request['signature_valid'], 'signed with the network secret' );
			$this->assertSame( 'the-network', $request['site'] );
			$this->assertSame( array( 'login_failed' ), array_column( $request['events'], 'type' ) );
			$this->assertSame( $urls[ $i ], $request['events'][0]['site_url'], 'the event names its blog' );
		}
	}

	public function test_a_blogs_hello_names_the_network_under_its_id_and_the_blog_under_its_own() {
		self::lock_network_identity();
		$hello_from_second = function () {
			return self::on_blog(
				self::$second,
				function () {
					self::discard_pending();
					EdgeJail_Plugin::instance()->report_hello();
					$this->assertSame( 'sent', $this->deliver() );
					$events = self::$capture->events();
					return end( $events );
				}
			);
		};
		self::on_blog( self::$second, function () { update_option( EdgeJail_Settings::OPTION, array() ); } );
		$hello = $hello_from_second();
		$this->assertSame( 'hello', $hello['type'] );
		$this->assertSame( network_home_url( '/' ), $hello['site_url'], 'under the network\'s id: the network' );
		$this->assertNotSame( 'http://127.0.0.1/second/', $hello['site_url'] );

		// The network leaves the identity open, and the blog has its own.
		update_site_option( EdgeJail_Settings::NETWORK_OPTION, array( 'values' => array( 'url' => self::$capture->url(), 'site_id' => 'the-network', 'secret' => 'network-secret-9c1d' ), 'locked' => array() ) );
		self::on_blog( self::$second, function () { update_option( EdgeJail_Settings::OPTION, array( 'site_id' => 'second-own', 'secret' => 'second-secret-77' ) ); } );
		self::$capture->expect_secret( 'second-secret-77' );
		$hello = $hello_from_second();
		$this->assertSame( 'http://127.0.0.1/second/', $hello['site_url'], 'under its own id: the blog' );
		$requests = self::$capture->requests();
		$this->assertSame( 'second-own', end( $requests )['site'] );
	}

	public function test_an_unlocked_network_value_is_the_default_until_a_blog_sets_its_own() {
		self::lock_network_identity( array( 'timeout' => 2.5, 'spool_max' => 50 ), array() );
		self::on_blog( self::$second, function () { update_option( EdgeJail_Settings::OPTION, array( 'spool_max' => 70 ) ); } );
		$settings = EdgeJail_Plugin::instance()->settings();

		$this->assertSame( array( 2.5, 50 ), self::on_blog( get_main_site_id(), function () use ( $settings ) { update_option( EdgeJail_Settings::OPTION, array() ); $settings->refresh(); return array( $settings->get( 'timeout' ), $settings->get( 'spool_max' ) ); } ) );
		$this->assertSame( array( 2.5, 70 ), self::on_blog( self::$second, function () use ( $settings ) { return array( $settings->get( 'timeout' ), $settings->get( 'spool_max' ) ); } ) );
		$this->assertSame( 'the-network', self::on_blog( self::$second, function () use ( $settings ) { update_option( EdgeJail_Settings::OPTION, array( 'site_id' => 'own-id' ) ); $settings->refresh(); return $settings->get( 'site_id' ); } ), 'a locked field is the network\'s, whatever the blog stored' );
		$this->assertSame( 'network', EdgeJail_Settings::locked_by( 'site_id' ) );
		$this->assertSame( '', EdgeJail_Settings::locked_by( 'timeout' ) );
	}

	// ---- the network settings page ----

	public function test_the_network_page_is_for_network_admins_only() {
		require_once EDGEJAIL_PLUGIN_DIR . '/includes/class-edgejail-network-admin-page.php';
		$page = new EdgeJail_Network_Admin_Page();
		wp_set_current_user( self::blog_admin()->ID );
		$this->assertFalse( current_user_can( 'manage_network_options' ) );
		try {
			self::render_page( array( $page, 'render' ) );
			$this->fail( 'a blog admin saw the network page' );
		} catch ( RuntimeException $refused ) {
			$this->assertStringStartsWith( 'wp_die 403', $refused->getMessage() );
		}
		try {
			self::render_page( array( $page, 'handle_save' ) );
			$this->fail( 'a blog admin saved network settings' );
		} catch ( RuntimeException $refused ) {
			$this->assertStringStartsWith( 'wp_die 403', $refused->getMessage() );
		}
		$this->assertFalse( get_site_option( EdgeJail_Settings::NETWORK_OPTION ) );

		global $submenu;
		wp_set_current_user( get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) )->ID );
		$this->assertTrue( current_user_can( 'manage_network_options' ), 'the installer is a super admin' );
		$page->add_page();
		$this->assertContains( EdgeJail_Network_Admin_Page::SLUG, array_column( $submenu['settings.php'], 2 ), 'under Network Admin > Settings' );
		$html = self::render_page( array( $page, 'render' ) );
		$this->assertStringContainsString( 'action="' . esc_url( network_admin_url( 'edit.php?action=' . EdgeJail_Network_Admin_Page::ACTION ) ) . '"', $html );
		$this->assertStringContainsString( 'name="_wpnonce"', $html );
		$this->assertStringContainsString( 'name="edgejail_network[locked][]" value="secret"', $html );
	}

	public function test_network_settings_saved_from_the_form_keep_the_secret_unprinted() {
		wp_set_current_user( get_user_by( 'login', getenv( 'WP_ENV_ADMIN_USER' ) )->ID );
		require_once EDGEJAIL_PLUGIN_DIR . '/includes/class-edgejail-network-admin-page.php';
		$form = array(
			'values' => array(
				'url'             => self::$capture->url(),
				'site_id'         => 'the-network',
				'secret'          => 'network-secret-9c1d',
				'timeout'         => '1',
				'connect_timeout' => '0.5',
				'spool_max'       => '1000',
				'origin_bans'     => '1',
				'blocked_usernames' => "admin\nroot",
			),
			'locked' => array( 'url', 'site_id', 'secret', 'blocked_usernames', 'not-a-field' ),
		);
		$saved = EdgeJail_Network_Admin_Page::sanitize( $form );
		$this->assertSame( array( 'url', 'site_id', 'secret', 'blocked_usernames' ), $saved['locked'] );
		$this->assertSame( array( 'admin', 'root' ), $saved['values']['blocked_usernames'] );
		$this->assertArrayNotHasKey( 'timeout', $saved['values'], 'a default is not stored: each blog keeps its own' );
		update_site_option( EdgeJail_Settings::NETWORK_OPTION, $saved );

		// Saved again without a secret (the field is always empty): the stored one stays.
		$form['values']['secret'] = '';
		$again                    = EdgeJail_Network_Admin_Page::sanitize( $form );
		$this->assertSame( 'network-secret-9c1d', $again['values']['secret'] );

		$page = new EdgeJail_Network_Admin_Page();
		$html = self::render_page( array( $page, 'render' ) );
		$this->assertStringNotContainsString( 'network-secret-9c1d', $html );
		$this->assertStringContainsString( 'A secret is stored (not shown)', $html );
		$this->assertMatchesRegularExpression( '/name="edgejail_network\[locked\]\[\]" value="secret" checked=/', $html );
	}

	public function test_a_blogs_page_shows_locked_fields_read_only_and_never_the_secret() {
		self::lock_network_identity( array( 'blocked_usernames' => array( 'admin' ) ), array( 'blocked_usernames' ) );
		require_once EDGEJAIL_PLUGIN_DIR . '/includes/class-edgejail-admin-page.php';
		wp_set_current_user( self::blog_admin()->ID );

		$html = self::on_blog(
			self::$second,
			function () {
				update_option( EdgeJail_Settings::OPTION, array() );
				EdgeJail_Plugin::instance()->settings()->refresh();
				$page = new EdgeJail_Admin_Page( EdgeJail_Plugin::instance() );
				global $wp_settings_sections, $wp_settings_fields;
				$wp_settings_sections = array();
				$wp_settings_fields   = array();
				$page->register_settings();
				try {
					return self::render_page(
						function () {
							do_settings_sections( EdgeJail_Admin_Page::SLUG );
						}
					);
				} finally {
					// Registered, its sanitize callback would stand between every later update_option() and the option.
					unregister_setting( EdgeJail_Admin_Page::GROUP, EdgeJail_Settings::OPTION );
				}
			}
		);

		$this->assertStringNotContainsString( 'network-secret-9c1d', $html );
		foreach ( array( 'url', 'site_id', 'secret', 'blocked_usernames' ) as $key ) {
			$this->assertMatchesRegularExpression( '/<(input|textarea)[^>]* id="edgejail_' . $key . '"[^>]* disabled="disabled"/', $html, "$key is read-only" );
		}
		$this->assertMatchesRegularExpression( '/<input[^>]* id="edgejail_timeout"(?![^>]*disabled)[^>]*>/', $html, 'an unlocked field is the blog\'s to change' );
		$this->assertSame( 4, substr_count( $html, 'Locked by the network administrator' ) );

		// And a submitted form cannot change them.
		$stored = self::on_blog(
			self::$second,
			function () {
				$page = new EdgeJail_Admin_Page( EdgeJail_Plugin::instance() );
				return $page->sanitize(
					array(
						'url'               => 'https://elsewhere.example',
						'site_id'           => 'mine',
						'secret'            => 'my-secret',
						'blocked_usernames' => '',
						'timeout'           => '2',
						'spool_max'         => '1000',
						'origin_bans'       => '1',
					)
				);
			}
		);
		foreach ( array( 'url', 'site_id', 'secret', 'blocked_usernames' ) as $key ) {
			$this->assertArrayNotHasKey( $key, $stored );
		}
		$this->assertSame( 2.0, $stored['timeout'] );
		$this->assertArrayNotHasKey( 'spool_max', $stored, 'left at the default: not copied, it keeps following the network' );
	}

	/**
	 * The network settings another process (the php -S site) saved: past this process's cache.
	 */
	private static function network_settings_as_stored() {
		wp_cache_delete( get_current_network_id() . ':' . EdgeJail_Settings::NETWORK_OPTION, 'site-options' );
		wp_cache_delete( get_current_network_id() . ':notoptions', 'site-options' );
		return EdgeJail_Settings::network();
	}

	private static function browser_logged_in_as( $user, $password ) {
		$jar = tempnam( sys_get_temp_dir(), 'edgejail-cookies' );
		self::browse_session( $jar, 'GET', '/wp-login.php' ); // WordPress's test cookie.
		self::browse_session( $jar, 'POST', '/wp-login.php', array( 'log' => $user, 'pwd' => $password, 'testcookie' => 1 ) );
		return $jar;
	}

	public function test_a_network_admin_saves_and_locks_settings_that_the_second_blogs_page_then_shows_read_only() {
		$jar = self::browser_logged_in_as( getenv( 'WP_ENV_ADMIN_USER' ), getenv( 'WP_ENV_ADMIN_PASSWORD' ) );
		try {
			list( $status, $page ) = self::browse_session( $jar, 'GET', '/wp-admin/network/settings.php?page=' . EdgeJail_Network_Admin_Page::SLUG );
			$this->assertSame( 200, $status );
			$this->assertSame( 1, preg_match( '/name="_wpnonce" value="([^"]+)"/', $page, $nonce ), 'the form carries a nonce' );

			$form = array(
				'_wpnonce'         => $nonce[1],
				'_wp_http_referer' => '/wp-admin/network/settings.php?page=' . EdgeJail_Network_Admin_Page::SLUG,
				'edgejail_network' => array(
					'values' => array(
						'url'             => self::$capture->url(),
						'site_id'         => 'the-network',
						'secret'          => 'network-secret-9c1d',
						'timeout'         => '1',
						'connect_timeout' => '0.5',
						'spool_max'       => '1000',
						'origin_bans'     => '1',
						'report_successful_logins' => '1',
						'self_unlock'     => '1',
						'unlock_roles'    => "administrator\neditor",
					),
					'locked' => array( 'url', 'site_id', 'secret' ),
				),
			);
			list( $status ) = self::browse_session( $jar, 'POST', '/wp-admin/network/edit.php?action=' . EdgeJail_Network_Admin_Page::ACTION, array_merge( $form, array( '_wpnonce' => 'forged' ) ) );
			$this->assertSame( 403, $status );
			$this->assertFalse( get_site_option( EdgeJail_Settings::NETWORK_OPTION ), 'no nonce, nothing saved' );

			list( $status, $saved ) = self::browse_session( $jar, 'POST', '/wp-admin/network/edit.php?action=' . EdgeJail_Network_Admin_Page::ACTION, $form );
			$this->assertSame( 200, $status );
			$this->assertStringContainsString( 'Network settings saved.', $saved );
			$this->assertStringNotContainsString( 'network-secret-9c1d', $saved );
			$network = self::network_settings_as_stored();
			$this->assertSame( array( 'url', 'site_id', 'secret' ), $network['locked'] );
			$this->assertSame( 'network-secret-9c1d', $network['values']['secret'] );

			list( $status, $blog_page ) = self::browse_session( $jar, 'GET', '/second/wp-admin/options-general.php?page=edgejail' );
			$this->assertSame( 200, $status );
			$this->assertStringNotContainsString( 'network-secret-9c1d', $blog_page );
			$this->assertMatchesRegularExpression( '/id="edgejail_site_id" name="edgejail_settings\[site_id\]" value="the-network" class="regular-text" disabled="disabled"/', $blog_page );
			$this->assertSame( 3, substr_count( $blog_page, 'Locked by the network administrator' ) );
		} finally {
			@unlink( $jar );
		}

		// A blog's administrator is not a network admin: no network page, no saving.
		self::blog_admin();
		try {
			$jar = self::browser_logged_in_as( 'second-admin', 'second-admin-pw-1' );
			list( $status ) = self::browse_session( $jar, 'GET', '/wp-admin/network/settings.php?page=' . EdgeJail_Network_Admin_Page::SLUG );
			$this->assertContains( $status, array( 403, 404 ), 'refused' );
			list( $status ) = self::browse_session( $jar, 'POST', '/wp-admin/network/edit.php?action=' . EdgeJail_Network_Admin_Page::ACTION, $form );
			$this->assertSame( 403, $status );
			$this->assertSame( 'the-network', self::network_settings_as_stored()['values']['site_id'], 'unchanged' );
		} finally {
			@unlink( $jar );
		}
	}

	// ---- spool and ban cache ----

	public function test_each_blog_spools_its_own_events_and_flushes_them_with_its_url() {
		self::lock_network_identity();
		self::$capture->server->stop();
		self::on_blog(
			self::$second,
			function () {
				EdgeJail_Plugin::instance()->settings()->refresh();
				$this->signon( 'alice', 'wrong-password' );
				$this->assertSame( 'spooled', $this->deliver() );
			}
		);
		$this->assertSame( 0, $this->spool_count(), 'the main blog\'s spool is its own' );
		$this->assertSame( 1, self::on_blog( self::$second, function () { return $this->spool_count(); } ) );

		self::$capture->server->start();
		self::on_blog(
			self::$second,
			function () {
				EdgeJail_Plugin::instance()->reporter()->flush_spool( true );
				$this->assertSame( 0, $this->spool_count() );
			}
		);
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'http://127.0.0.1/second/', $events[0]['site_url'] );
	}

	public function test_a_ban_one_blog_learns_is_refused_on_every_blog() {
		$cache = EdgeJail_Plugin::instance()->ban_cache();
		self::on_blog(
			self::$second,
			function () use ( $cache ) {
				$this->assertSame( 1, $cache->remember( array( array( 'ip' => '192.0.2.77', 'ip_key' => '192.0.2.77', 'jail' => 'wp-login', 'banned_until' => gmdate( 'c', time() + 600 ) ) ) ) );
			}
		);
		$this->assertTrue( $cache->is_banned( '192.0.2.77' ), 'the main blog refuses it too' );
		$fresh = $this->create_blog( 'banned' );
		$this->assertTrue( self::on_blog( $fresh, function () use ( $cache ) { return $cache->is_banned( '192.0.2.77' ); } ), 'and a blog created since' );

		self::on_blog( $fresh, array( $cache, 'clear' ) );
		$this->assertFalse( $cache->is_banned( '192.0.2.77' ), 'a clear on one blog clears the network\'s cache' );
		$this->assertFalse( self::on_blog( self::$second, function () use ( $cache ) { return $cache->is_banned( '192.0.2.77' ); } ) );
	}

	// ---- uninstall ----

	public function test_uninstall_cleans_every_blog_and_the_network() {
		self::lock_network_identity();
		$cache = EdgeJail_Plugin::instance()->ban_cache();
		$cache->remember( array( array( 'ip' => '192.0.2.78', 'ip_key' => '192.0.2.78', 'jail' => 'x', 'banned_until' => gmdate( 'c', time() + 600 ) ) ) );
		$cache->clear(); // Leaves the generation site option.
		$cache->remember( array( array( 'ip' => '192.0.2.79', 'ip_key' => '192.0.2.79', 'jail' => 'x', 'banned_until' => gmdate( 'c', time() + 600 ) ) ) );
		self::$capture->server->stop();
		foreach ( array( get_main_site_id(), self::$second ) as $blog_id ) {
			self::on_blog(
				$blog_id,
				function () {
					EdgeJail_Plugin::instance()->settings()->refresh();
					$this->signon( 'spooled', 'x' );
					$this->deliver();
					$this->assertSame( 1, $this->spool_count() );
				}
			);
		}
		global $wpdb;
		$network_leftovers = function () use ( $wpdb ) {
			return $wpdb->get_col( "SELECT meta_key FROM {$wpdb->sitemeta} WHERE meta_key LIKE '%edgejail%' ORDER BY meta_key" );
		};
		$this->assertNotEmpty( $network_leftovers() );

		deactivate_plugins( self::PLUGIN, false, true );
		uninstall_plugin( self::PLUGIN );

		$this->assertSame( array(), $network_leftovers(), 'no network setting, generation or cached ban is left' );
		foreach ( array( get_main_site_id(), self::$second ) as $blog_id ) {
			$left = self::on_blog(
				$blog_id,
				function () use ( $wpdb ) {
					return array(
						'options' => $wpdb->get_col( "SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE '%edgejail%'" ),
						'ready'   => self::blog_ready(),
					);
				}
			);
			$this->assertSame( array(), $left['options'], "blog $blog_id keeps no option" );
			$this->assertSame( self::not_ready(), $left['ready'], "blog $blog_id keeps no table or job" );
		}
		self::$capture->server->start();
		activate_plugin( self::PLUGIN, '', true );
		// The tables are back; every test's setUp fills them again.
	}
}
