<?php
/**
 * Builds events in the exact shape of the service's POST /v1/events contract.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Every field is cut to the service's limit here: one odd username must not make the
 * service reject the whole batch.
 */
final class EdgeJail_Event_Builder {

	/**
	 * Field limits of server/contract/events.ts (LIMITS), counted as the service counts
	 * string length: in UTF-16 code units.
	 */
	const LIMITS = array(
		'username'   => 255,
		'user_agent' => 512,
		'path'       => 2048,
		'error_code' => 64,
		'url'        => 2048,
		'version'    => 64,
	);

	const ATTEMPT_TYPES = array(
		'login_failed',
		'login_succeeded',
		'xmlrpc_login_failed',
		'xmlrpc_multicall',
		'app_password_failed',
		'rest_auth_failed',
		'user_enumeration',
		'blocked_username',
		'lostpassword_unknown_user',
		'pingback',
	);

	/** The service's bound on weight. */
	const MAX_WEIGHT = 5000;

	/**
	 * An attempt event.
	 *
	 * @param string $type   One of ATTEMPT_TYPES.
	 * @param string $ip     Normalised client address.
	 * @param array  $fields Optional username, error_code, weight, path, user_agent.
	 * @param array  $server $_SERVER (path and user agent default from it).
	 * @return array
	 */
	public static function attempt( $type, $ip, array $fields, array $server ) {
		$path       = isset( $fields['path'] ) ? $fields['path'] : self::request_path( $server );
		$user_agent = isset( $fields['user_agent'] ) ? $fields['user_agent'] : ( isset( $server['HTTP_USER_AGENT'] ) ? $server['HTTP_USER_AGENT'] : null );
		$weight     = isset( $fields['weight'] ) ? (int) $fields['weight'] : 1;
		return array(
			'id'          => self::event_id(),
			'type'        => $type,
			'ip'          => $ip,
			'occurred_at' => self::now(),
			'username'    => self::limit( isset( $fields['username'] ) ? $fields['username'] : null, 'username' ),
			'user_agent'  => self::limit( $user_agent, 'user_agent' ),
			'path'        => self::limit( $path, 'path' ),
			'error_code'  => self::limit( isset( $fields['error_code'] ) ? $fields['error_code'] : null, 'error_code' ),
			'weight'      => max( 1, min( self::MAX_WEIGHT, $weight ) ),
			'site_url'    => self::blog_url(),
		);
	}

	/**
	 * The hello event: who this site is.
	 *
	 * @param string|null $site_url The URL the service knows the site id by; this blog's home by default.
	 * @return array
	 */
	public static function hello( $site_url = null ) {
		return array(
			'id'             => self::event_id(),
			'type'           => 'hello',
			'occurred_at'    => self::now(),
			'site_url'       => self::limit( null === $site_url ? home_url( '/' ) : $site_url, 'url' ),
			'plugin_version' => self::limit( EDGEJAIL_PLUGIN_VERSION, 'version' ),
			'wp_version'     => self::limit( get_bloginfo( 'version' ), 'version' ),
			'php_version'    => self::limit( PHP_VERSION, 'version' ),
		);
	}

	/**
	 * A site user opened their unlock link from the address they asked from.
	 *
	 * @param string $ip       Normalised address.
	 * @param string $username The user's login.
	 * @return array
	 */
	public static function self_unlock( $ip, $username ) {
		return array(
			'id'          => self::event_id(),
			'type'        => 'self_unlock',
			'ip'          => $ip,
			'occurred_at' => self::now(),
			'username'    => self::limit( $username, 'username' ),
			'site_url'    => self::blog_url(),
		);
	}

	/**
	 * This blog's home URL: which blog of a network was attacked (the network reports under
	 * one site id). Null when it is not a plain http(s) URL the service would take: one odd
	 * home URL must not make it refuse the batch.
	 *
	 * @return string|null
	 */
	public static function blog_url() {
		$url   = self::limit( home_url( '/' ), 'url' );
		$parts = null === $url ? false : wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) || ! isset( $parts['scheme'] ) || ! in_array( strtolower( $parts['scheme'] ), array( 'http', 'https' ), true ) || isset( $parts['user'] ) || isset( $parts['pass'] ) || preg_match( '/[\s\x00-\x1f\x7f]/', $url ) ) {
			return null;
		}
		return $url;
	}

	/**
	 * Adds to an event's weight, within the service's bound.
	 *
	 * @param array $event Event.
	 * @param int   $extra Weight to add.
	 * @return array
	 */
	public static function add_weight( array $event, $extra ) {
		$event['weight'] = min( self::MAX_WEIGHT, $event['weight'] + (int) $extra );
		return $event;
	}

	/**
	 * A time-ordered (version 7, RFC 9562) UUID: 48 bits of Unix milliseconds, then 74 random
	 * bits. The service acknowledges a repeated id without counting it twice, which is what
	 * makes retries from the spool safe; and since ids that grow with time land at the end
	 * of the service's id index, not all over it, storing one costs about half as much as a
	 * random id's once the table is large.
	 *
	 * @return string
	 */
	public static function event_id() {
		// Split in two so that a 32-bit PHP, whose int stops at 2^31, formats it as well.
		$ms       = floor( microtime( true ) * 1000 );
		$high     = (int) floor( $ms / 16777216 );
		$low      = (int) fmod( $ms, 16777216 );
		$bytes    = random_bytes( 10 );
		$bytes[0] = chr( ( ord( $bytes[0] ) & 0x0f ) | 0x70 );
		$bytes[2] = chr( ( ord( $bytes[2] ) & 0x3f ) | 0x80 );
		$hex      = sprintf( '%06x%06x', $high, $low ) . bin2hex( $bytes );
		return vsprintf( '%s%s-%s-%s-%s-%s%s%s', str_split( $hex, 4 ) );
	}

	/**
	 * Now, as ISO-8601 with an explicit offset.
	 *
	 * @return string
	 */
	public static function now() {
		return gmdate( 'Y-m-d\TH:i:s' ) . '+00:00';
	}

	/**
	 * The request path without its query string (a query can carry a password-reset key).
	 *
	 * @param array $server $_SERVER.
	 * @return string|null
	 */
	public static function request_path( array $server ) {
		if ( empty( $server['REQUEST_URI'] ) || ! is_string( $server['REQUEST_URI'] ) ) {
			return null;
		}
		$path = strtok( $server['REQUEST_URI'], '?#' );
		return false === $path ? '/' : $path;
	}

	/**
	 * Valid UTF-8 cut to a field's limit, or null.
	 *
	 * @param mixed  $value Value.
	 * @param string $field Key of LIMITS.
	 * @return string|null
	 */
	public static function limit( $value, $field ) {
		if ( null === $value || ! is_scalar( $value ) ) {
			return null;
		}
		return self::truncate_utf16( self::valid_utf8( (string) $value ), self::LIMITS[ $field ] );
	}

	/**
	 * The text with every invalid UTF-8 sequence replaced by U+FFFD (attackers send
	 * arbitrary bytes as usernames; invalid UTF-8 cannot be encoded as JSON).
	 *
	 * @param string $text Bytes.
	 * @return string
	 */
	public static function valid_utf8( $text ) {
		if ( '' === $text || 1 === preg_match( '//u', $text ) ) {
			return $text;
		}
		return htmlspecialchars_decode( htmlspecialchars( $text, ENT_NOQUOTES | ENT_SUBSTITUTE, 'UTF-8' ), ENT_NOQUOTES );
	}

	/**
	 * Cuts a UTF-8 string to at most $limit UTF-16 code units, never inside a character.
	 *
	 * @param string $text  Valid UTF-8.
	 * @param int    $limit Code units.
	 * @return string
	 */
	public static function truncate_utf16( $text, $limit ) {
		// A UTF-8 string never has more UTF-16 code units than bytes.
		if ( strlen( $text ) <= $limit ) {
			return $text;
		}
		if ( ! preg_match_all( '/./us', $text, $chars ) ) {
			return '';
		}
		$units = 0;
		$out   = '';
		foreach ( $chars[0] as $char ) {
			$units += 4 === strlen( $char ) ? 2 : 1;
			if ( $units > $limit ) {
				break;
			}
			$out .= $char;
		}
		return $out;
	}
}
