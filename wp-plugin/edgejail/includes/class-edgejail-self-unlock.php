<?php
/**
 * "Locked out? Get an unlock link": a site's own user banned at wp-login.php gets back in
 * without FTP.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * The 403 page at wp-login.php offers a form (username or e-mail). A user with one of
 * the chosen roles gets a one-time link by wp_mail(): the token is stored only as an
 * HMAC, expires in 15 minutes, works once, and only from the address that asked for it.
 * Opening it sends a signed `self_unlock` event; the service lifts that address's bans
 * (at Cloudflare too) and allowlists it for its `unlock_ttl`, and this site forgets its
 * cached ban. The form answers the same whether or not the user exists, and requests are
 * throttled per address and per user, so it is neither a user oracle nor a mail cannon.
 */
class EdgeJail_Self_Unlock {

	/** Query argument of the form and of the link. */
	const QUERY = 'edgejail-unlock';

	/** User meta holding the pending token: hash, expiry, address. */
	const META = '_edgejail_unlock';

	const TOKEN_TTL = 900;

	/** Form submissions per address, and mails per user, within THROTTLE_WINDOW. */
	const MAX_PER_IP       = 5;
	const MAX_PER_USER     = 1;
	const THROTTLE_WINDOW  = 900;
	const THROTTLE_IP      = 'edgejail_unlock_ip_';
	const THROTTLE_USER    = 'edgejail_unlock_user_';
	const NONCE_ACTION     = 'edgejail_unlock_request';

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
	 * Whether the owner left self-unlock on (and the plugin can reach a service).
	 *
	 * @return bool
	 */
	public function enabled() {
		return $this->plugin->settings()->get( 'self_unlock' ) && $this->plugin->settings()->is_configured();
	}

	/**
	 * Serves `wp-login.php?edgejail-unlock` (the form, its submission, the link) and
	 * exits; returns when the request is not one of these.
	 */
	public function maybe_handle() {
		if ( ! $this->enabled() || ! isset( $_GET[ self::QUERY ] ) ) { // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- routing only; each branch checks what it needs.
			return;
		}
		if ( isset( $_GET['u'], $_GET['t'] ) ) { // phpcs:ignore WordPress.Security.NonceVerification.Recommended -- the token is the proof.
			$this->open_link( absint( wp_unslash( $_GET['u'] ) ), sanitize_text_field( wp_unslash( $_GET['t'] ) ) ); // phpcs:ignore WordPress.Security.NonceVerification.Recommended
		}
		if ( isset( $_SERVER['REQUEST_METHOD'] ) && 'POST' === $_SERVER['REQUEST_METHOD'] ) {
			$this->request_link();
		}
		$this->page( 200, '' );
	}

	/**
	 * The form's submission: the same answer whatever the input.
	 */
	private function request_link() {
		$same_answer = __( 'If that account may unlock this site, a link is on its way to its e-mail address. It works for 15 minutes, once, from this network only.', 'edgejail' );
		if ( ! isset( $_POST['_wpnonce'] ) || ! wp_verify_nonce( sanitize_text_field( wp_unslash( $_POST['_wpnonce'] ) ), self::NONCE_ACTION ) ) {
			$this->page( 400, __( 'The form expired. Please try again.', 'edgejail' ) );
		}
		$ip = $this->plugin->client_ip();
		if ( null === $ip || ! self::take_slot( self::THROTTLE_IP . md5( $ip ), self::MAX_PER_IP ) ) {
			$this->page( 200, $same_answer ); // Throttled: the answer tells nothing either.
		}
		$login = isset( $_POST['user'] ) ? sanitize_text_field( wp_unslash( $_POST['user'] ) ) : '';
		$user  = '' === $login ? false : ( is_email( $login ) ? get_user_by( 'email', $login ) : get_user_by( 'login', $login ) );
		if ( $user instanceof WP_User && $this->may_unlock( $user ) && self::take_slot( self::THROTTLE_USER . $user->ID, self::MAX_PER_USER ) ) {
			$this->mail_link( $user, $ip );
		}
		$this->page( 200, $same_answer );
	}

	/**
	 * Whether the user holds one of the roles the owner chose.
	 *
	 * @param WP_User $user User.
	 * @return bool
	 */
	private function may_unlock( WP_User $user ) {
		return array() !== array_intersect( (array) $user->roles, (array) $this->plugin->settings()->get( 'unlock_roles' ) );
	}

	/**
	 * Stores a fresh token (only its HMAC) and mails the link.
	 *
	 * @param WP_User $user User.
	 * @param string  $ip   Address that asked.
	 */
	private function mail_link( WP_User $user, $ip ) {
		$token = bin2hex( random_bytes( 24 ) );
		update_user_meta(
			$user->ID,
			self::META,
			array(
				'hash'    => self::hash( $token ),
				'expires' => time() + self::TOKEN_TTL,
				'ip'      => $ip,
			)
		);
		$link = add_query_arg(
			array(
				self::QUERY => '1',
				'u'         => $user->ID,
				't'         => $token,
			),
			wp_login_url()
		);
		$site = wp_specialchars_decode( get_bloginfo( 'name' ), ENT_QUOTES );
		/* translators: %s: site name */
		$subject = sprintf( __( '[%s] Your unlock link', 'edgejail' ), $site );
		/* translators: 1: address, 2: link */
		$body = sprintf( __( "Someone at %1\$s asked to unlock this site's login for your account after too many failed attempts.\n\nOpen this link from the same network within 15 minutes (it works once):\n%2\$s\n\nIf this was not you, ignore this message: nothing changes.", 'edgejail' ), $ip, $link );
		wp_mail( $user->user_email, $subject, $body );
	}

	/**
	 * The link: same address, unexpired, unused; then the service unlocks.
	 *
	 * @param int    $user_id User id.
	 * @param string $token   Token from the link.
	 */
	private function open_link( $user_id, $token ) {
		$invalid = __( 'This unlock link is not valid: it expired, was used already, or was mistyped. Ask for a new one.', 'edgejail' );
		$user    = $user_id ? get_user_by( 'id', $user_id ) : false;
		$pending = $user ? get_user_meta( $user->ID, self::META, true ) : null;
		if ( ! $user || ! is_array( $pending ) || empty( $pending['hash'] ) || (int) $pending['expires'] < time() || ! hash_equals( $pending['hash'], self::hash( $token ) ) ) {
			$this->page( 403, $invalid );
		}
		$ip = $this->plugin->client_ip();
		if ( $ip !== $pending['ip'] ) {
			$this->page( 403, __( 'Open the link from the network you asked from: the unlock is for that address only.', 'edgejail' ) );
		}
		// Single use: consumed before the service is asked, put back only if it could not answer.
		delete_user_meta( $user->ID, self::META );
		$response = $this->plugin->reporter()->send_now( array( EdgeJail_Event_Builder::self_unlock( $ip, $user->user_login ) ) );
		if ( ! $response->is_success() ) {
			update_user_meta( $user->ID, self::META, $pending );
			$this->page( 503, __( 'The EdgeJail service could not be reached to unlock your address. Please try the link again in a minute.', 'edgejail' ) );
		}
		$this->plugin->ban_cache()->forget_address( $ip );
		/**
		 * Fires once a user's address was unlocked at the service.
		 *
		 * @param WP_User $user The user.
		 * @param string  $ip   The address.
		 */
		do_action( 'edgejail_self_unlocked', $user, $ip );
		$this->page( 200, __( 'Your address is unlocked. You can log in now.', 'edgejail' ), true );
	}

	/**
	 * Counts one use of a throttle bucket; false once it is full.
	 *
	 * @param string $name Transient name.
	 * @param int    $max  Uses allowed in the window.
	 * @return bool
	 */
	private static function take_slot( $name, $max ) {
		$used = (int) get_transient( $name );
		if ( $used >= $max ) {
			return false;
		}
		set_transient( $name, $used + 1, self::THROTTLE_WINDOW );
		return true;
	}

	/**
	 * What is stored of a token.
	 *
	 * @param string $token Token.
	 * @return string
	 */
	private static function hash( $token ) {
		return hash_hmac( 'sha256', (string) $token, wp_salt( 'auth' ) );
	}

	/**
	 * The 403 of a banned address at wp-login.php, with the form.
	 */
	public function deny_page() {
		$this->page( 403, __( 'Forbidden: too many failed attempts from your address.', 'edgejail' ) );
	}

	/**
	 * Renders a minimal login-styled page and exits.
	 *
	 * @param int    $status  HTTP status.
	 * @param string $notice  Message.
	 * @param bool   $done    Show a login link instead of the form.
	 */
	private function page( $status, $notice, $done = false ) {
		if ( ! headers_sent() ) {
			status_header( $status );
			nocache_headers();
			header( 'Content-Type: text/html; charset=utf-8' );
		}
		echo '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>' . esc_html__( 'Forbidden', 'edgejail' ) . '</title></head><body style="font-family:sans-serif;max-width:30em;margin:4em auto">';
		if ( '' !== $notice ) {
			echo '<p id="edgejail-notice">' . esc_html( $notice ) . '</p>';
		}
		if ( $done ) {
			echo '<p><a href="' . esc_url( wp_login_url() ) . '">' . esc_html__( 'Log in', 'edgejail' ) . '</a></p>';
		} else {
			echo '<h1 style="font-size:1.3em">' . esc_html__( 'Locked out? Get an unlock link', 'edgejail' ) . '</h1>';
			echo '<form method="post" action="' . esc_url( add_query_arg( self::QUERY, '1', wp_login_url() ) ) . '">';
			wp_nonce_field( self::NONCE_ACTION );
			echo '<p><label for="edgejail-unlock-user">' . esc_html__( 'Username or e-mail address', 'edgejail' ) . '</label><br /><input type="text" name="user" id="edgejail-unlock-user" autocomplete="username" required /></p>';
			echo '<p><button type="submit">' . esc_html__( 'Send me an unlock link', 'edgejail' ) . '</button></p></form>';
		}
		echo '</body></html>';
		exit;
	}
}
