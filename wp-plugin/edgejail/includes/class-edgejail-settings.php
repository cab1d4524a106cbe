<?php
/**
 * Settings: stored in one option, each field overridable (and locked) by a wp-config.php constant.
 * On a multisite network, the network's settings (a site option) come in between: a field the
 * network locks is the network's on every blog; any other field is the blog's own once the blog
 * sets it, the network's until then.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * The effective configuration of this site.
 */
class EdgeJail_Settings {

	const OPTION = 'edgejail_settings';

	/** Site option of a network: array( 'values' => field => value, 'locked' => field[] ). */
	const NETWORK_OPTION = 'edgejail_network_settings';

	/** Hard bounds on the transport timeouts (seconds): the failed-login path must stay short. */
	const MIN_TIMEOUT = 0.1;
	const MAX_TIMEOUT = 5.0;

	/** Bounds on the spool size (events). */
	const MIN_SPOOL = 10;
	const MAX_SPOOL = 100000;

	/**
	 * Field => [default, constant that overrides it].
	 *
	 * @var array
	 */
	const FIELDS = array(
		'url'                      => array( '', 'EDGEJAIL_URL' ),
		'site_id'                  => array( '', 'EDGEJAIL_SITE_ID' ),
		'secret'                   => array( '', 'EDGEJAIL_SECRET' ),
		'timeout'                  => array( 1.0, 'EDGEJAIL_TIMEOUT' ),
		'connect_timeout'          => array( 0.5, 'EDGEJAIL_CONNECT_TIMEOUT' ),
		'trusted_proxies'          => array( array(), 'EDGEJAIL_TRUSTED_PROXIES' ),
		'blocked_usernames'        => array( array(), 'EDGEJAIL_BLOCKED_USERNAMES' ),
		'block_user_enumeration'   => array( false, 'EDGEJAIL_BLOCK_USER_ENUMERATION' ),
		'refuse_multicall_auth'    => array( false, 'EDGEJAIL_REFUSE_MULTICALL_AUTH' ),
		'report_successful_logins' => array( true, 'EDGEJAIL_REPORT_SUCCESSFUL_LOGINS' ),
		'origin_bans'              => array( true, 'EDGEJAIL_ORIGIN_BANS' ),
		'spool_max'                => array( 1000, 'EDGEJAIL_SPOOL_MAX' ),
		'self_unlock'              => array( true, 'EDGEJAIL_SELF_UNLOCK' ),
		'unlock_roles'             => array( array( 'administrator', 'editor' ), 'EDGEJAIL_UNLOCK_ROLES' ),
	);

	/**
	 * Effective values, built on first use.
	 *
	 * @var array|null
	 */
	private $values = null;

	/**
	 * Defaults of every field.
	 *
	 * @return array
	 */
	public static function defaults() {
		$defaults = array();
		foreach ( self::FIELDS as $key => $field ) {
			$defaults[ $key ] = $field[0];
		}
		return $defaults;
	}

	/**
	 * Effective value of a field.
	 *
	 * @param string $key Field name.
	 * @return mixed
	 */
	public function get( $key ) {
		if ( null === $this->values ) {
			$this->values = $this->load();
		}
		return $this->values[ $key ];
	}

	/**
	 * Whether this site's page may not change the field (it shows it read-only): wp-config.php
	 * sets it, or the network locks it.
	 *
	 * @param string $key Field name.
	 * @return bool
	 */
	public static function is_locked( $key ) {
		return '' !== self::locked_by( $key );
	}

	/**
	 * Who decides a field above this site: 'constant' (wp-config.php), 'network' (the network
	 * admin locked it), or ''.
	 *
	 * @param string $key Field name.
	 * @return string
	 */
	public static function locked_by( $key ) {
		if ( defined( self::FIELDS[ $key ][1] ) ) {
			return 'constant';
		}
		$network = self::network();
		return in_array( $key, $network['locked'], true ) ? 'network' : '';
	}

	/**
	 * The network's settings, cleaned: values it sets, and fields it locks. Empty on a single site.
	 *
	 * @return array values, locked.
	 */
	public static function network() {
		$network = array(
			'values' => array(),
			'locked' => array(),
		);
		if ( ! is_multisite() ) {
			return $network;
		}
		$stored = get_site_option( self::NETWORK_OPTION, array() );
		if ( ! is_array( $stored ) ) {
			return $network;
		}
		foreach ( isset( $stored['values'] ) && is_array( $stored['values'] ) ? $stored['values'] : array() as $key => $raw ) {
			if ( isset( self::FIELDS[ $key ] ) ) {
				$clean = self::clean( $key, $raw );
				if ( null !== $clean ) {
					$network['values'][ $key ] = $clean;
				}
			}
		}
		foreach ( isset( $stored['locked'] ) && is_array( $stored['locked'] ) ? $stored['locked'] : array() as $key ) {
			// A lock without a value would lock the field to its default; the network page never stores one.
			if ( is_string( $key ) && array_key_exists( $key, $network['values'] ) ) {
				$network['locked'][] = $key;
			}
		}
		return $network;
	}

	/**
	 * Name of the constant that overrides a field.
	 *
	 * @param string $key Field name.
	 * @return string
	 */
	public static function constant_name( $key ) {
		return self::FIELDS[ $key ][1];
	}

	/**
	 * Whether the plugin knows where and how to report.
	 *
	 * @return bool
	 */
	public function is_configured() {
		return '' !== $this->get( 'url' ) && '' !== $this->get( 'site_id' ) && '' !== $this->get( 'secret' );
	}

	/**
	 * Whether this blog reports under the network's site id (not one of its own).
	 *
	 * @return bool
	 */
	public function reports_for_network() {
		$network = self::network();
		return isset( $network['values']['site_id'] ) && '' !== $network['values']['site_id'] && $this->get( 'site_id' ) === $network['values']['site_id'];
	}

	/**
	 * Whether wp-config.php allows plain HTTP to a service on another host
	 * (define( 'EDGEJAIL_ALLOW_HTTP', true )).
	 *
	 * @return bool
	 */
	public static function allows_http() {
		return defined( 'EDGEJAIL_ALLOW_HTTP' ) && true === filter_var( constant( 'EDGEJAIL_ALLOW_HTTP' ), FILTER_VALIDATE_BOOLEAN, FILTER_NULL_ON_FAILURE );
	}

	/**
	 * Whether a URL's host is this machine (plain HTTP never leaves it).
	 *
	 * @param string $url Service URL.
	 * @return bool
	 */
	public static function is_loopback_url( $url ) {
		$host = strtolower( trim( (string) wp_parse_url( $url, PHP_URL_HOST ), '[]' ) );
		return 'localhost' === $host || '::1' === $host || 1 === preg_match( '/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/', $host );
	}

	/**
	 * Why the service URL may not be used: plain http:// to another host, where anyone on
	 * the path reads the site id and events and can answer in the service's name. '' if fine.
	 *
	 * @return string
	 */
	public function insecure_url_problem() {
		$url = $this->get( 'url' );
		if ( '' === $url || 'http' !== strtolower( (string) wp_parse_url( $url, PHP_URL_SCHEME ) ) || self::is_loopback_url( $url ) || self::allows_http() ) {
			return '';
		}
		return 'refusing plain http:// to a host other than this machine: use https:// (the service\'s tls.cert/tls.key, or a TLS reverse proxy), or define EDGEJAIL_ALLOW_HTTP as true in wp-config.php for a trusted private network';
	}

	/**
	 * Forgets the cached values (after the option changed).
	 */
	public function refresh() {
		$this->values = null;
	}

	/**
	 * Stored values, overridden by constants, each cleaned the same way as form input. On a
	 * network: constant, then a locked network value, then the blog's own, then the network's.
	 *
	 * @return array
	 */
	private function load() {
		$stored  = get_option( self::OPTION, array() );
		$stored  = is_array( $stored ) ? $stored : array();
		$network = self::network();
		$values  = array();
		foreach ( self::FIELDS as $key => $field ) {
			if ( defined( $field[1] ) ) {
				$raw = constant( $field[1] );
			} elseif ( in_array( $key, $network['locked'], true ) ) {
				$raw = $network['values'][ $key ];
			} elseif ( array_key_exists( $key, $stored ) ) {
				$raw = $stored[ $key ];
			} elseif ( array_key_exists( $key, $network['values'] ) ) {
				$raw = $network['values'][ $key ];
			} else {
				$raw = $field[0];
			}
			$clean          = self::clean( $key, $raw );
			$values[ $key ] = null === $clean ? $field[0] : $clean;
		}
		$values['connect_timeout'] = min( $values['connect_timeout'], $values['timeout'] );
		return $values;
	}

	/**
	 * Cleans one field; null when the value cannot be used.
	 *
	 * @param string $key Field name.
	 * @param mixed  $raw Value from the form, the option or a constant.
	 * @return mixed|null
	 */
	public static function clean( $key, $raw ) {
		switch ( $key ) {
			case 'url':
				$url = is_string( $raw ) ? untrailingslashit( trim( $raw ) ) : '';
				if ( '' === $url ) {
					return '';
				}
				$scheme = wp_parse_url( $url, PHP_URL_SCHEME );
				$host   = wp_parse_url( $url, PHP_URL_HOST );
				if ( ! in_array( $scheme, array( 'http', 'https' ), true ) || empty( $host ) || preg_match( '/[\s?#]/', $url ) ) {
					return null;
				}
				return $url;
			case 'site_id':
				$id = is_scalar( $raw ) ? trim( (string) $raw ) : '';
				return preg_match( '/^[A-Za-z0-9_.:-]{0,128}$/', $id ) ? $id : null;
			case 'secret':
				$secret = is_scalar( $raw ) ? trim( (string) $raw ) : '';
				return preg_match( '/[\x00-\x1f\x7f]/', $secret ) ? null : $secret;
			case 'timeout':
			case 'connect_timeout':
				if ( ! is_numeric( $raw ) ) {
					return null;
				}
				return max( self::MIN_TIMEOUT, min( self::MAX_TIMEOUT, (float) $raw ) );
			case 'spool_max':
				if ( ! is_numeric( $raw ) ) {
					return null;
				}
				return max( self::MIN_SPOOL, min( self::MAX_SPOOL, (int) $raw ) );
			case 'trusted_proxies':
				$ranges = array();
				foreach ( self::split_list( $raw ) as $item ) {
					$cidr = EdgeJail_Ip::normalize_cidr( $item );
					if ( null !== $cidr ) {
						$ranges[] = $cidr;
					}
				}
				return array_values( array_unique( $ranges ) );
			case 'unlock_roles':
				return array_values( array_unique( array_filter( array_map( 'sanitize_key', self::split_list( $raw ) ), 'strlen' ) ) );
			case 'blocked_usernames':
				$names = array();
				foreach ( self::split_list( $raw ) as $item ) {
					$names[] = self::fold_username( $item );
				}
				return array_values( array_unique( array_filter( $names, 'strlen' ) ) );
			default:
				return (bool) filter_var( $raw, FILTER_VALIDATE_BOOLEAN );
		}
	}

	/**
	 * Case-folded username for comparisons with the blocked list.
	 *
	 * @param string $username Username as typed.
	 * @return string
	 */
	public static function fold_username( $username ) {
		$username = trim( (string) $username );
		return function_exists( 'mb_strtolower' ) ? mb_strtolower( $username, 'UTF-8' ) : strtolower( $username );
	}

	/**
	 * Items of a list given as an array or as text split by commas, spaces or newlines.
	 *
	 * @param mixed $raw List.
	 * @return string[]
	 */
	public static function split_list( $raw ) {
		if ( is_string( $raw ) ) {
			$raw = preg_split( '/[\s,]+/', $raw, -1, PREG_SPLIT_NO_EMPTY );
		}
		if ( ! is_array( $raw ) ) {
			return array();
		}
		return array_values( array_filter( array_map( 'strval', array_filter( $raw, 'is_scalar' ) ), 'strlen' ) );
	}
}
