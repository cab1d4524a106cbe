<?php
/**
 * Settings > EdgeJail: the settings form and the status box.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Settings API page. The secret is write-only: the form never contains it, and an
 * empty secret field keeps the stored one.
 */
class EdgeJail_Admin_Page {

	const SLUG  = 'edgejail';
	const GROUP = 'edgejail';

	/** Transient (per user) holding the last connection test's result for one page view. */
	const TEST_RESULT = 'edgejail_connection_test_';

	/**
	 * The plugin.
	 *
	 * @var EdgeJail_Plugin
	 */
	private $plugin;

	/**
	 * Constructor.
	 *
	 * @param EdgeJail_Plugin $plugin The plugin.
	 */
	public function __construct( EdgeJail_Plugin $plugin ) {
		$this->plugin = $plugin;
	}

	/**
	 * Hooks.
	 */
	public function register_hooks() {
		add_action( 'admin_menu', array( $this, 'add_page' ) );
		add_action( 'admin_init', array( $this, 'register_settings' ) );
		add_action( 'admin_post_edgejail_test_connection', array( $this, 'handle_test_connection' ) );
		add_action( 'admin_post_edgejail_flush_spool', array( $this, 'handle_flush_spool' ) );
		add_action( 'admin_post_edgejail_clear_ban_cache', array( $this, 'handle_clear_ban_cache' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( EDGEJAIL_PLUGIN_FILE ), array( $this, 'add_settings_link' ) );
	}

	/**
	 * `admin_menu`.
	 */
	public function add_page() {
		add_options_page( __( 'EdgeJail', 'edgejail' ), __( 'EdgeJail', 'edgejail' ), 'manage_options', self::SLUG, array( $this, 'render' ) );
	}

	/**
	 * Link from the plugins list.
	 *
	 * @param array $links Links.
	 * @return array
	 */
	public function add_settings_link( $links ) {
		array_unshift( $links, '<a href="' . esc_url( admin_url( 'options-general.php?page=' . self::SLUG ) ) . '">' . esc_html__( 'Settings', 'edgejail' ) . '</a>' );
		return $links;
	}

	/**
	 * Field definitions by section: key => [label, kind, help] (the network page shows the same).
	 *
	 * @return array
	 */
	public static function fields() {
		return array(
			'service'  => array(
				'url'     => array( __( 'Service URL', 'edgejail' ), 'url', __( 'Base URL of your EdgeJail service, e.g. https://edgejail.example.com. Plain http:// is used only to this machine (127.0.0.1, ::1, localhost), unless wp-config.php defines EDGEJAIL_ALLOW_HTTP as true.', 'edgejail' ) ),
				'site_id' => array( __( 'Site ID', 'edgejail' ), 'text', __( 'From `edgejail site add`.', 'edgejail' ) ),
				'secret'  => array( __( 'Secret', 'edgejail' ), 'secret', __( 'From `edgejail site add`. Never shown again; leave empty to keep the stored one.', 'edgejail' ) ),
				'timeout' => array( __( 'Timeout (seconds)', 'edgejail' ), 'number', __( 'Total time allowed for one report (default 1). Reports are sent after the page is delivered.', 'edgejail' ) ),
				'connect_timeout' => array( __( 'Connect timeout (seconds)', 'edgejail' ), 'number', __( 'Default 0.5; never more than the timeout.', 'edgejail' ) ),
				'spool_max' => array( __( 'Spool size (events)', 'edgejail' ), 'integer', __( 'Events kept while the service is unreachable; the oldest are dropped beyond this.', 'edgejail' ) ),
			),
			'network'  => array(
				'trusted_proxies' => array( __( 'Trusted proxies', 'edgejail' ), 'list', __( 'Your own proxies or load balancers in front of WordPress (IPs or CIDR ranges, one per line). Their X-Forwarded-For is used. Cloudflare is recognised automatically.', 'edgejail' ) ),
				'origin_bans'     => array( __( 'Origin fallback', 'edgejail' ), 'checkbox', __( 'Answer 403 at wp-login.php and XML-RPC to IPs the service has banned (protects an origin attacked directly, bypassing Cloudflare).', 'edgejail' ) ),
			),
			'policy'   => array(
				'blocked_usernames'        => array( __( 'Blocked usernames', 'edgejail' ), 'list', __( 'Logins with these usernames fail at once and are reported (e.g. admin, administrator). Do not list a username a real user has.', 'edgejail' ) ),
				'block_user_enumeration'   => array( __( 'Block user enumeration', 'edgejail' ), 'checkbox', __( 'Refuse ?author=N scans and the /wp/v2/users listing to visitors who are not logged in.', 'edgejail' ) ),
				'refuse_multicall_auth'    => array( __( 'Refuse XML-RPC multicall logins', 'edgejail' ), 'checkbox', __( 'Refuse system.multicall requests that carry credentials (hundreds of passwords per request).', 'edgejail' ) ),
				'report_successful_logins' => array( __( 'Report successful logins', 'edgejail' ), 'checkbox', __( 'Lets the service forgive a typo once the right password is given.', 'edgejail' ) ),
				'self_unlock'              => array( __( 'Self-unlock', 'edgejail' ), 'checkbox', __( 'The 403 at wp-login.php offers "Locked out? Get an unlock link": a one-time link by e-mail (15 minutes, from the same network) lifts the ban of that address and allowlists it for a while.', 'edgejail' ) ),
				'unlock_roles'             => array( __( 'Roles that may self-unlock', 'edgejail' ), 'list', __( 'Role slugs, one per line (default: administrator, editor). Other users get the same answer but no mail.', 'edgejail' ) ),
			),
		);
	}

	/**
	 * `admin_init`: the Settings API registration.
	 */
	public function register_settings() {
		register_setting(
			self::GROUP,
			EdgeJail_Settings::OPTION,
			array(
				'type'              => 'array',
				'sanitize_callback' => array( $this, 'sanitize' ),
				'default'           => EdgeJail_Settings::defaults(),
			)
		);
		$sections = array(
			'service' => __( 'Service', 'edgejail' ),
			'network' => __( 'Client IP and origin', 'edgejail' ),
			'policy'  => __( 'Policy', 'edgejail' ),
		);
		foreach ( self::fields() as $section => $fields ) {
			add_settings_section( 'edgejail_' . $section, $sections[ $section ], '__return_false', self::SLUG );
			foreach ( $fields as $key => $field ) {
				add_settings_field(
					'edgejail_' . $key,
					$field[0],
					array( $this, 'render_field' ),
					self::SLUG,
					'edgejail_' . $section,
					array(
						'key'       => $key,
						'kind'      => $field[1],
						'help'      => $field[2],
						'label_for' => 'edgejail_' . $key,
					)
				);
			}
		}
	}

	/**
	 * Sanitises the submitted form into the stored option.
	 *
	 * @param mixed $input Submitted values.
	 * @return array
	 */
	public function sanitize( $input ) {
		$input   = is_array( $input ) ? wp_unslash( $input ) : array();
		$stored  = get_option( EdgeJail_Settings::OPTION, array() );
		$stored  = is_array( $stored ) ? $stored : array();
		$network = EdgeJail_Settings::network();
		// A blog of a network stores only what it sets itself; the rest follows the network.
		$output = is_multisite() ? $stored : array_merge( EdgeJail_Settings::defaults(), $stored );
		foreach ( self::fields() as $fields ) {
			foreach ( $fields as $key => $field ) {
				if ( EdgeJail_Settings::is_locked( $key ) ) {
					continue; // wp-config.php or the network decides; keep whatever was stored.
				}
				$clean = self::clean_input( $key, $field, $input, EdgeJail_Settings::OPTION );
				if ( null === $clean ) {
					continue;
				}
				$inherited = array_key_exists( $key, $network['values'] ) ? $network['values'][ $key ] : EdgeJail_Settings::FIELDS[ $key ][0];
				if ( is_multisite() && ! array_key_exists( $key, $stored ) && $clean === $inherited ) {
					continue; // Left at what the network gives: it keeps following the network.
				}
				$output[ $key ] = $clean;
			}
		}
		$this->warn_about_real_blocked_users( isset( $output['blocked_usernames'] ) ? $output['blocked_usernames'] : array() );
		return $output;
	}

	/**
	 * One submitted field, cleaned; null when it is not to be stored (an empty secret field
	 * keeps the stored secret; an invalid value is reported as a settings error).
	 *
	 * @param string $key    Field name.
	 * @param array  $field  [label, kind, help].
	 * @param array  $input  Submitted values (unslashed).
	 * @param string $errors Settings-error slug to report under.
	 * @return mixed|null
	 */
	public static function clean_input( $key, array $field, array $input, $errors ) {
		if ( 'checkbox' === $field[1] ) {
			return ! empty( $input[ $key ] );
		}
		$raw = isset( $input[ $key ] ) ? $input[ $key ] : '';
		if ( 'secret' === $field[1] && '' === trim( (string) $raw ) ) {
			return null;
		}
		// The secret is never displayed, and must reach the HMAC byte for byte.
		$text  = is_string( $raw ) ? ( 'secret' === $field[1] ? $raw : sanitize_textarea_field( $raw ) ) : '';
		$clean = EdgeJail_Settings::clean( $key, $text );
		if ( null === $clean ) {
			/* translators: %s: field label */
			add_settings_error( $errors, 'edgejail_' . $key, sprintf( __( '%s: the value is not valid and was not saved.', 'edgejail' ), $field[0] ) );
		}
		return $clean;
	}

	/**
	 * Blocking a username a real account uses would lock that person out.
	 *
	 * @param string[] $usernames Blocked usernames.
	 */
	private function warn_about_real_blocked_users( array $usernames ) {
		foreach ( $usernames as $username ) {
			if ( get_user_by( 'login', $username ) ) {
				/* translators: %s: username */
				add_settings_error( EdgeJail_Settings::OPTION, 'edgejail_blocked_real_user', sprintf( __( 'Warning: "%s" is a real account on this site and can no longer log in while it is blocked.', 'edgejail' ), $username ), 'warning' );
			}
		}
	}

	/**
	 * One field.
	 *
	 * @param array $args key, kind, help.
	 */
	public function render_field( $args ) {
		$key       = $args['key'];
		$locked_by = EdgeJail_Settings::locked_by( $key );
		self::render_input( 'edgejail_' . $key, EdgeJail_Settings::OPTION . '[' . $key . ']', $args['kind'], $this->plugin->settings()->get( $key ), '' !== $locked_by );
		if ( 'constant' === $locked_by ) {
			/* translators: %s: constant name */
			echo '<p class="description"><strong>' . esc_html( sprintf( __( 'Set by %s in wp-config.php.', 'edgejail' ), EdgeJail_Settings::constant_name( $key ) ) ) . '</strong></p>';
		} elseif ( 'network' === $locked_by ) {
			echo '<p class="description edgejail-network-locked"><strong>' . esc_html__( 'Locked by the network administrator (Network Admin > Settings > EdgeJail).', 'edgejail' ) . '</strong></p>';
		}
		echo '<p class="description">' . esc_html( $args['help'] ) . '</p>';
	}

	/**
	 * One input of a settings form. A secret is never printed: its field is always empty.
	 *
	 * @param string $id       Element id.
	 * @param string $name     Form name.
	 * @param string $kind     url, text, secret, number, integer, checkbox, list.
	 * @param mixed  $value    Current value.
	 * @param bool   $disabled Shown read-only.
	 */
	public static function render_input( $id, $name, $kind, $value, $disabled ) {
		$attrs = $disabled ? ' disabled="disabled"' : '';
		switch ( $kind ) {
			case 'secret':
				$placeholder = '' !== $value ? __( 'A secret is stored (not shown)', 'edgejail' ) : __( 'Not set', 'edgejail' );
				printf( '<input type="password" id="%s" name="%s" value="" class="regular-text" autocomplete="new-password" placeholder="%s"%s />', esc_attr( $id ), esc_attr( $name ), esc_attr( $placeholder ), $attrs ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- $attrs is a constant string.
				break;
			case 'checkbox':
				printf( '<input type="checkbox" id="%s" name="%s" value="1"%s%s />', esc_attr( $id ), esc_attr( $name ), checked( (bool) $value, true, false ), $attrs ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- checked() and a constant string.
				break;
			case 'list':
				printf( '<textarea id="%s" name="%s" rows="4" cols="40" class="large-text code"%s>%s</textarea>', esc_attr( $id ), esc_attr( $name ), $attrs, esc_textarea( implode( "\n", (array) $value ) ) ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- constant string.
				break;
			default:
				$type = 'url' === $kind ? 'url' : ( 'text' === $kind ? 'text' : 'number' );
				$step = 'number' === $kind ? ' step="0.1" min="0.1" max="5"' : ( 'integer' === $kind ? ' step="1" min="10"' : '' );
				printf( '<input type="%s" id="%s" name="%s" value="%s" class="regular-text"%s%s />', esc_attr( $type ), esc_attr( $id ), esc_attr( $name ), esc_attr( (string) $value ), $step, $attrs ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- constant strings.
		}
	}

	/**
	 * The page.
	 */
	public function render() {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage EdgeJail.', 'edgejail' ), 403 );
		}
		echo '<div class="wrap"><h1>' . esc_html__( 'EdgeJail', 'edgejail' ) . '</h1>';
		$this->render_status();
		$this->render_client_ip();
		echo '<form method="post" action="' . esc_url( admin_url( 'options.php' ) ) . '">';
		settings_fields( self::GROUP );
		do_settings_sections( self::SLUG );
		submit_button();
		echo '</form></div>';
	}

	/**
	 * The status box.
	 */
	private function render_status() {
		$settings = $this->plugin->settings();
		$status   = $this->plugin->status();
		$status->refresh();
		$values = $status->all();
		$ranges = $this->plugin->cloudflare_ranges()->current();
		$never  = __( 'never', 'edgejail' );
		$rows   = array(
			__( 'Configured', 'edgejail' )         => $settings->is_configured() ? __( 'yes', 'edgejail' ) : __( 'no: set the service URL, site ID and secret', 'edgejail' ),
			__( 'Connection', 'edgejail' )         => self::connection_summary( $settings ),
			__( 'Last event sent', 'edgejail' )    => $values['last_sent_at'] ? self::format_time( $values['last_sent_at'] ) . ' (' . (int) $values['last_sent_count'] . ')' : $never,
			__( 'Spooled events', 'edgejail' )     => (string) $this->plugin->spool()->count(),
			__( 'Dropped (spool full)', 'edgejail' ) => (string) (int) $values['dropped_overflow'],
			__( 'Dropped (refused by service)', 'edgejail' ) => (string) (int) $values['dropped_rejected'],
			__( 'Last error', 'edgejail' )         => $values['last_error'] ? self::format_time( $values['last_error_at'] ) . ': ' . $values['last_error'] : __( 'none', 'edgejail' ),
			__( 'Retrying after', 'edgejail' )     => $values['backoff_until'] > time() ? self::format_time( $values['backoff_until'] ) : '-',
			__( 'Cloudflare ranges', 'edgejail' )  => $ranges['fetched_at'] ? sprintf( 'refreshed %s', self::format_time( $ranges['fetched_at'] ) ) : __( 'bundled list', 'edgejail' ),
			__( 'Login shield', 'edgejail' )       => self::shield_summary( $status->shield_up() ),
		);
		echo '<div class="card" id="edgejail-status"><h2>' . esc_html__( 'Status', 'edgejail' ) . '</h2><table class="widefat striped"><tbody>';
		foreach ( $rows as $label => $value ) {
			echo '<tr><th scope="row">' . esc_html( $label ) . '</th><td>' . esc_html( $value ) . '</td></tr>';
		}
		echo '</tbody></table>';
		$result = get_transient( self::TEST_RESULT . get_current_user_id() );
		if ( is_array( $result ) ) {
			delete_transient( self::TEST_RESULT . get_current_user_id() );
			printf( '<div class="notice notice-%s inline"><p>%s</p></div>', $result['ok'] ? 'success' : 'error', esc_html( $result['message'] ) );
		}
		echo '<p>';
		$this->render_action_button( 'edgejail_test_connection', __( 'Test connection', 'edgejail' ) );
		echo ' ';
		$this->render_action_button( 'edgejail_flush_spool', __( 'Send spooled events now', 'edgejail' ) );
		echo ' ';
		$this->render_action_button( 'edgejail_clear_ban_cache', __( "Clear EdgeJail's ban cache", 'edgejail' ) );
		echo '</p></div>';
	}

	/**
	 * "Login shield up since … (reason)", or down.
	 *
	 * @param array|null $shield EdgeJail_Status::shield_up().
	 * @return string
	 */
	private static function shield_summary( $shield ) {
		if ( null === $shield ) {
			return __( 'down', 'edgejail' );
		}
		$since = isset( $shield['since'] ) ? strtotime( $shield['since'] ) : false;
		/* translators: 1: time the shield went up, 2: the service's reason in figures */
		$text = sprintf( __( 'Login shield up since %1$s (%2$s)', 'edgejail' ), false === $since ? '?' : self::format_time( $since ), '' !== $shield['reason'] ? $shield['reason'] : __( 'no reason given', 'edgejail' ) );
		$until = isset( $shield['until'] ) ? strtotime( $shield['until'] ) : false;
		if ( false !== $until ) {
			/* translators: %s: time the shield is due to go down */
			$text .= ' ' . sprintf( __( 'until %s at least; XML-RPC logins are refused meanwhile.', 'edgejail' ), self::format_time( $until ) );
		}
		return $text;
	}

	/**
	 * "What IP do you see me as?": the address resolved for this very request, how, and
	 * what looks wrong (the most common failure of a login limiter behind a proxy).
	 */
	private function render_client_ip() {
		$seen = $this->plugin->client_ip_resolver()->explain( $_SERVER );
		$how  = array(
			'cloudflare'  => __( 'REMOTE_ADDR is a Cloudflare edge, so CF-Connecting-IP was used', 'edgejail' ),
			'proxy_chain' => __( 'through your trusted proxies (X-Forwarded-For, read from the right)', 'edgejail' ),
			'direct'      => __( 'direct: REMOTE_ADDR, no proxy in between is trusted', 'edgejail' ),
			'none'        => __( 'the server gave no REMOTE_ADDR', 'edgejail' ),
		);
		$warnings = array(
			'private_without_trusted_proxy' => __( 'This is a private address and no trusted proxy is set: WordPress probably sits behind a proxy or load balancer, and every visitor then looks like this one address (one attacker would lock everybody out). Add that proxy to Trusted proxies.', 'edgejail' ),
			'cloudflare_unresolved'         => __( 'This is a Cloudflare address, not yours: the visitor behind Cloudflare was not resolved (no CF-Connecting-IP reached WordPress, or it came through a proxy that is not trusted). Every visitor through that edge would share one ban.', 'edgejail' ),
			'cf_header_ignored'             => __( 'A CF-Connecting-IP header was sent but ignored, because the address that sent it is not a Cloudflare edge. If the site is behind Cloudflare, add the proxy between Cloudflare and WordPress to Trusted proxies.', 'edgejail' ),
		);
		echo '<div class="card" id="edgejail-client-ip"><h2>' . esc_html__( 'What IP do you see me as?', 'edgejail' ) . '</h2>';
		echo '<table class="widefat striped"><tbody>';
		echo '<tr><th scope="row">' . esc_html__( 'Your address', 'edgejail' ) . '</th><td><code>' . esc_html( null === $seen['ip'] ? '-' : $seen['ip'] ) . '</code></td></tr>';
		echo '<tr><th scope="row">' . esc_html__( 'How', 'edgejail' ) . '</th><td>' . esc_html( $how[ $seen['how'] ] ) . '</td></tr>';
		echo '<tr><th scope="row">REMOTE_ADDR</th><td><code>' . esc_html( null === $seen['remote_addr'] ? '-' : $seen['remote_addr'] ) . '</code>';
		if ( ! empty( $seen['hops'] ) ) {
			echo ' ' . esc_html__( 'via', 'edgejail' ) . ' <code>' . esc_html( implode( ' ← ', array_reverse( $seen['hops'] ) ) ) . '</code>';
		}
		echo '</td></tr></tbody></table>';
		foreach ( $seen['warnings'] as $warning ) {
			echo '<div class="notice notice-warning inline edgejail-ip-warning"><p>' . esc_html( $warnings[ $warning ] ) . '</p></div>';
		}
		echo '</div>';
	}

	/**
	 * "Clear EdgeJail's ban cache": the origin forgets every ban it cached; bans still in
	 * force come back with the service's next answer.
	 */
	public function handle_clear_ban_cache() {
		$this->check_request( 'edgejail_clear_ban_cache' );
		$this->plugin->ban_cache()->clear();
		set_transient(
			self::TEST_RESULT . get_current_user_id(),
			array(
				'ok'      => true,
				'message' => __( "EdgeJail's ban cache was cleared: this site refuses nobody until the service reports a ban again.", 'edgejail' ),
			),
			5 * MINUTE_IN_SECONDS
		);
		$this->back_to_page();
	}

	/**
	 * How the plugin talks to the service: HTTPS, loopback HTTP, or refused / allowed plain HTTP.
	 *
	 * @param EdgeJail_Settings $settings Settings.
	 * @return string
	 */
	private static function connection_summary( EdgeJail_Settings $settings ) {
		$url = $settings->get( 'url' );
		if ( '' === $url ) {
			return '-';
		}
		$problem = $settings->insecure_url_problem();
		if ( '' !== $problem ) {
			/* translators: %s: why the URL is refused */
			return sprintf( __( 'Refused: %s. Nothing is sent until this is fixed (events are spooled).', 'edgejail' ), $problem );
		}
		if ( 'https' === strtolower( (string) wp_parse_url( $url, PHP_URL_SCHEME ) ) ) {
			return __( 'HTTPS; answers are verified against the site secret', 'edgejail' );
		}
		if ( EdgeJail_Settings::is_loopback_url( $url ) ) {
			return __( 'plain HTTP on this machine; answers are verified against the site secret', 'edgejail' );
		}
		return __( 'plain HTTP to another host, allowed by EDGEJAIL_ALLOW_HTTP: answers are verified, but events and the site id travel unencrypted', 'edgejail' );
	}

	/**
	 * A small form posting to admin-post.php with a nonce.
	 *
	 * @param string $action Action.
	 * @param string $label  Button label.
	 */
	private function render_action_button( $action, $label ) {
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" style="display:inline">';
		echo '<input type="hidden" name="action" value="' . esc_attr( $action ) . '" />';
		wp_nonce_field( $action );
		submit_button( $label, 'secondary', 'submit', false );
		echo '</form>';
	}

	/**
	 * Connection test: a signed hello, sent now, and what the service answered.
	 */
	public function handle_test_connection() {
		$this->check_request( 'edgejail_test_connection' );
		if ( ! $this->plugin->settings()->is_configured() ) {
			$result = array(
				'ok'      => false,
				'message' => __( 'Not configured: set the service URL, site ID and secret first.', 'edgejail' ),
			);
		} else {
			$response = $this->plugin->transport()->post_events( array( EdgeJail_Event_Builder::hello() ) );
			$result   = array(
				'ok'      => $response->is_success(),
				/* translators: %s: the service's answer */
				'message' => $response->is_success() ? __( 'Connected: the service accepted a signed hello event.', 'edgejail' ) : sprintf( __( 'Connection failed: %s', 'edgejail' ), $response->describe() ),
			);
		}
		set_transient( self::TEST_RESULT . get_current_user_id(), $result, 5 * MINUTE_IN_SECONDS );
		$this->back_to_page();
	}

	/**
	 * "Send spooled events now": ignores the backoff once.
	 */
	public function handle_flush_spool() {
		$this->check_request( 'edgejail_flush_spool' );
		$outcome = $this->plugin->reporter()->flush_spool( true );
		$status  = $this->plugin->status()->all();
		set_transient(
			self::TEST_RESULT . get_current_user_id(),
			array(
				'ok'      => 'sent' === $outcome || null === $outcome,
				'message' => null === $outcome ? __( 'Nothing was waiting.', 'edgejail' ) : ( 'sent' === $outcome ? __( 'Spooled events sent.', 'edgejail' ) : $status['last_error'] ),
			),
			5 * MINUTE_IN_SECONDS
		);
		$this->back_to_page();
	}

	/**
	 * Capability and nonce of an admin-post action.
	 *
	 * @param string $action Nonce action.
	 */
	private function check_request( $action ) {
		if ( ! current_user_can( 'manage_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage EdgeJail.', 'edgejail' ), 403 );
		}
		check_admin_referer( $action );
	}

	/**
	 * Redirects back to the page.
	 */
	private function back_to_page() {
		wp_safe_redirect( admin_url( 'options-general.php?page=' . self::SLUG ) );
		exit;
	}

	/**
	 * A timestamp in the site's format and time zone.
	 *
	 * @param int $timestamp Unix time.
	 * @return string
	 */
	private static function format_time( $timestamp ) {
		return wp_date( get_option( 'date_format' ) . ' ' . get_option( 'time_format' ), (int) $timestamp );
	}
}
