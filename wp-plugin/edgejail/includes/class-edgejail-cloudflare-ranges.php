<?php
/**
 * Cloudflare's published edge ranges: bundled, refreshed daily from the service.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * CF-Connecting-IP is only believable from these addresses; anyone else can forge it.
 */
class EdgeJail_Cloudflare_Ranges {

	const OPTION = 'edgejail_cloudflare_ranges';

	/** Cloudflare's list as published (https://www.cloudflare.com/ips/), used until the first refresh. */
	const BUNDLED_IPV4 = array(
		'173.245.48.0/20',
		'103.21.244.0/22',
		'103.22.200.0/22',
		'103.31.4.0/22',
		'141.101.64.0/18',
		'108.162.192.0/18',
		'190.93.240.0/20',
		'188.114.96.0/20',
		'197.234.240.0/22',
		'198.41.128.0/17',
		'162.158.0.0/15',
		'104.16.0.0/13',
		'104.24.0.0/14',
		'172.64.0.0/13',
		'131.0.72.0/22',
	);

	const BUNDLED_IPV6 = array(
		'2400:cb00::/32',
		'2606:4700::/32',
		'2803:f800::/32',
		'2405:b500::/32',
		'2405:8100::/32',
		'2a06:98c0::/29',
		'2c0f:f248::/32',
	);

	/**
	 * The most the plugin will ever trust, pinned: each range Cloudflare publishes, as is.
	 * A refreshed list may narrow it but never widen it, so a forged or broken answer
	 * ("0.0.0.0/0") cannot make a forged CF-Connecting-IP believable. When Cloudflare
	 * publishes a new range, a plugin release adds it here.
	 */
	const PINNED_IPV4 = self::BUNDLED_IPV4;
	const PINNED_IPV6 = self::BUNDLED_IPV6;

	/**
	 * Parsed pinned ranges.
	 *
	 * @var array|null
	 */
	private static $pinned = null;

	/**
	 * Parsed ranges, built once per request.
	 *
	 * @var array|null
	 */
	private $parsed = null;

	/**
	 * The ranges in force as CIDR strings: the refreshed list if there is one, else the bundled one.
	 *
	 * @return array{ipv4: string[], ipv6: string[], fetched_at: int}
	 */
	public function current() {
		$stored = get_option( self::OPTION );
		if ( is_array( $stored ) && ! empty( $stored['ipv4'] ) && ! empty( $stored['ipv6'] ) ) {
			return $stored;
		}
		return self::bundled();
	}

	/**
	 * The list shipped with the plugin.
	 *
	 * @return array{ipv4: string[], ipv6: string[], fetched_at: int}
	 */
	public static function bundled() {
		return array(
			'ipv4'       => self::BUNDLED_IPV4,
			'ipv6'       => self::BUNDLED_IPV6,
			'fetched_at' => 0,
		);
	}

	/**
	 * Ranges ready for EdgeJail_Ip::in_ranges().
	 *
	 * @return array
	 */
	public function parsed() {
		if ( null === $this->parsed ) {
			$current      = $this->current();
			$this->parsed = array();
			foreach ( array_merge( $current['ipv4'], $current['ipv6'] ) as $cidr ) {
				$range = EdgeJail_Ip::parse_cidr( $cidr );
				if ( null !== $range ) {
					$this->parsed[] = $range;
				}
			}
		}
		return $this->parsed;
	}

	/**
	 * Whether a parsed range lies inside the pinned superset.
	 *
	 * @param array $range Output of EdgeJail_Ip::parse_cidr().
	 * @return bool
	 */
	public static function is_pinned( array $range ) {
		if ( null === self::$pinned ) {
			self::$pinned = array();
			foreach ( array_merge( self::PINNED_IPV4, self::PINNED_IPV6 ) as $cidr ) {
				self::$pinned[] = EdgeJail_Ip::parse_cidr( $cidr );
			}
		}
		return EdgeJail_Ip::range_within( $range, self::$pinned );
	}

	/**
	 * Replaces the list with the service's copy. An answer that is not signed by the
	 * service, or not a plausible list (empty, anything that is not a CIDR range, or a
	 * range outside the pinned Cloudflare superset) is refused whole: a bad list here
	 * would either trust forged headers or ban Cloudflare's own edge.
	 *
	 * @param EdgeJail_Transport $transport Signed client of the service.
	 * @return true|WP_Error
	 */
	public function refresh( EdgeJail_Transport $transport ) {
		$response = $transport->get( '/v1/cloudflare-ranges' );
		if ( ! $response->is_success() ) {
			return new WP_Error( 'edgejail_ranges_unavailable', $response->describe() );
		}
		$data  = $response->data();
		$clean = array();
		foreach ( array( 'ipv4', 'ipv6' ) as $family ) {
			if ( empty( $data[ $family ] ) || ! is_array( $data[ $family ] ) || count( $data[ $family ] ) > 1000 ) {
				return new WP_Error( 'edgejail_ranges_invalid', sprintf( 'cloudflare-ranges: "%s" must be a non-empty list', $family ) );
			}
			$clean[ $family ] = array();
			foreach ( $data[ $family ] as $cidr ) {
				$normal = EdgeJail_Ip::normalize_cidr( $cidr );
				if ( null === $normal || ( 'ipv6' === $family ) !== EdgeJail_Ip::is_ipv6( $normal ) ) {
					return new WP_Error( 'edgejail_ranges_invalid', sprintf( 'cloudflare-ranges: "%s" is not an %s range', is_string( $cidr ) ? substr( $cidr, 0, 60 ) : gettype( $cidr ), $family ) );
				}
				if ( ! self::is_pinned( EdgeJail_Ip::parse_cidr( $normal ) ) ) {
					return new WP_Error( 'edgejail_ranges_outside', sprintf( 'cloudflare-ranges: %s is not inside the Cloudflare ranges this plugin version pins; list refused', $normal ) );
				}
				$clean[ $family ][] = $normal;
			}
		}
		$clean['fetched_at'] = time();
		update_option( self::OPTION, $clean, true );
		$this->parsed = null;
		return true;
	}

	/**
	 * Forgets the parsed copy (after the option changed).
	 */
	public function reset() {
		$this->parsed = null;
	}
}
