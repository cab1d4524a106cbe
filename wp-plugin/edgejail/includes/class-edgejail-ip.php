<?php
/**
 * IP address parsing, normalisation and CIDR matching (pure functions, no WordPress).
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * One spelling per address, so a ban on 2001:db8::1 also matches 2001:DB8:0::1,
 * and an IPv4 client seen through an IPv6 socket (::ffff:203.0.113.7) stays IPv4.
 */
final class EdgeJail_Ip {

	/**
	 * Canonical form of an address, or null if it is not one.
	 * Accepts what proxies put in headers: brackets, ports, zone ids, whitespace.
	 *
	 * @param mixed $raw Candidate address.
	 * @return string|null
	 */
	public static function normalize( $raw ) {
		if ( ! is_string( $raw ) ) {
			return null;
		}
		$candidate = trim( $raw );
		if ( '' === $candidate || strlen( $candidate ) > 64 ) {
			return null;
		}
		if ( '[' === $candidate[0] ) {
			$end = strpos( $candidate, ']' );
			if ( false === $end ) {
				return null;
			}
			$candidate = substr( $candidate, 1, $end - 1 );
		} elseif ( 1 === substr_count( $candidate, ':' ) ) {
			// IPv4 with a port, as some proxies write it.
			$candidate = substr( $candidate, 0, strpos( $candidate, ':' ) );
		}
		$zone = strpos( $candidate, '%' );
		if ( false !== $zone ) {
			$candidate = substr( $candidate, 0, $zone );
		}
		if ( false === filter_var( $candidate, FILTER_VALIDATE_IP ) ) {
			return null;
		}
		$packed = inet_pton( $candidate );
		if ( false === $packed ) {
			return null;
		}
		if ( 16 === strlen( $packed ) && 0 === strncmp( $packed, str_repeat( "\0", 10 ) . "\xff\xff", 12 ) ) {
			$packed = substr( $packed, 12 );
		}
		$text = inet_ntop( $packed );
		return false === $text ? null : strtolower( $text );
	}

	/** Loopback, private, link-local and carrier NAT ranges: addresses a proxy, not a visitor, has. */
	const PRIVATE_RANGES = array( '127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10', '::1/128', 'fc00::/7', 'fe80::/10' );

	/**
	 * Whether a (normalised) address is loopback, private, link-local or carrier NAT.
	 *
	 * @param string $ip Address.
	 * @return bool
	 */
	public static function is_private( $ip ) {
		static $ranges = null;
		if ( null === $ranges ) {
			$ranges = array_map( array( __CLASS__, 'parse_cidr' ), self::PRIVATE_RANGES );
		}
		return self::in_ranges( $ip, $ranges );
	}

	/**
	 * Whether a (normalised) address is IPv6.
	 *
	 * @param string $ip Address.
	 * @return bool
	 */
	public static function is_ipv6( $ip ) {
		return false !== strpos( $ip, ':' );
	}

	/**
	 * Parses "192.0.2.0/24", "2001:db8::/32" or a bare address into [packed network, prefix bits].
	 *
	 * @param string $cidr Range in CIDR notation.
	 * @return array|null
	 */
	public static function parse_cidr( $cidr ) {
		if ( ! is_string( $cidr ) ) {
			return null;
		}
		$parts   = explode( '/', trim( $cidr ), 2 );
		$address = self::normalize( $parts[0] );
		if ( null === $address || false !== strpos( $parts[0], '[' ) ) {
			return null;
		}
		$packed   = inet_pton( $address );
		$max_bits = strlen( $packed ) * 8;
		if ( isset( $parts[1] ) ) {
			if ( ! preg_match( '/^\d{1,3}$/', $parts[1] ) || (int) $parts[1] > $max_bits ) {
				return null;
			}
			$bits = (int) $parts[1];
		} else {
			$bits = $max_bits;
		}
		return array( self::mask( $packed, $bits ), $bits );
	}

	/**
	 * Canonical text of a CIDR range ("2001:db8:1:2::/64"); a single-address range
	 * ("203.0.113.9/32") is written as the bare address. Null if invalid.
	 *
	 * @param string $cidr Range.
	 * @return string|null
	 */
	public static function normalize_cidr( $cidr ) {
		$parsed = self::parse_cidr( $cidr );
		if ( null === $parsed ) {
			return null;
		}
		$text = inet_ntop( $parsed[0] );
		return strlen( $parsed[0] ) * 8 === $parsed[1] ? $text : $text . '/' . $parsed[1];
	}

	/**
	 * Whether an address lies inside any of the parsed ranges.
	 *
	 * @param string $ip     Normalised address.
	 * @param array  $ranges Output of parse_cidr() for each range.
	 * @return bool
	 */
	public static function in_ranges( $ip, array $ranges ) {
		$packed = inet_pton( $ip );
		if ( false === $packed ) {
			return false;
		}
		$length = strlen( $packed );
		foreach ( $ranges as $range ) {
			if ( strlen( $range[0] ) === $length && self::mask( $packed, $range[1] ) === $range[0] ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Whether a parsed range lies wholly inside one of the parsed outer ranges (same
	 * family, at least as long a prefix, and the same network bits).
	 *
	 * @param array $range  Output of parse_cidr().
	 * @param array $outers Output of parse_cidr() for each outer range.
	 * @return bool
	 */
	public static function range_within( array $range, array $outers ) {
		foreach ( $outers as $outer ) {
			if ( strlen( $outer[0] ) === strlen( $range[0] ) && $range[1] >= $outer[1] && self::mask( $range[0], $outer[1] ) === $outer[0] ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * The network an address belongs to at a prefix length, e.g. 2001:db8:1:2::/64.
	 *
	 * @param string $ip   Normalised address.
	 * @param int    $bits Prefix length.
	 * @return string
	 */
	public static function prefix( $ip, $bits ) {
		return inet_ntop( self::mask( inet_pton( $ip ), $bits ) ) . '/' . $bits;
	}

	/**
	 * Zeroes every bit after the first $bits.
	 *
	 * @param string $packed Packed address.
	 * @param int    $bits   Bits to keep.
	 * @return string
	 */
	private static function mask( $packed, $bits ) {
		$length     = strlen( $packed );
		$full_bytes = intdiv( $bits, 8 );
		if ( $full_bytes >= $length ) {
			return $packed;
		}
		$result   = substr( $packed, 0, $full_bytes );
		$leftover = $bits % 8;
		if ( $leftover > 0 ) {
			$result .= chr( ord( $packed[ $full_bytes ] ) & ( 0xff << ( 8 - $leftover ) ) & 0xff );
			++$full_bytes;
		}
		return $result . str_repeat( "\0", $length - $full_bytes );
	}
}
