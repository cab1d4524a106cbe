<?php
/**
 * Origin fallback: IPs the service says are banned, remembered locally.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Attackers who find the origin's address bypass Cloudflare. The service's answer to
 * each batch lists the IPs of that batch that are banned; those are kept as transients
 * (the object cache when there is one) so wp-login.php and xmlrpc.php can answer 403
 * before WordPress spends a password hash on them.
 *
 * Site transients: a ban is of an IP, whichever blog of a network it attacked, so one
 * blog's answer protects every blog of the network at once (a single site: plain options).
 *
 * Entries live at most MAX_TTL even when the ban is longer, so a ban lifted at the
 * service is not enforced here for long; a still-banned IP that tries again after
 * that is reported and re-cached from the service's answer.
 */
class EdgeJail_Ban_Cache {

	const PREFIX  = 'edgejail_ban_';
	const MAX_TTL = 3600;

	/**
	 * Generation of the cache, part of every entry's name: bumping it empties the cache at
	 * once, also in an external object cache, whose keys cannot be listed.
	 */
	const GENERATION = 'edgejail_ban_cache_generation';

	/** IPv6 bans may cover a whole /64, which one host usually owns. */
	const IPV6_PREFIX_BITS = 64;

	/**
	 * Stores the service's decisions.
	 *
	 * @param array $decisions Items of the response's "decisions".
	 * @return int How many were stored.
	 */
	public function remember( array $decisions ) {
		$stored = 0;
		$now    = time();
		foreach ( $decisions as $decision ) {
			if ( ! is_array( $decision ) || empty( $decision['ip_key'] ) || empty( $decision['banned_until'] ) || ! is_string( $decision['banned_until'] ) ) {
				continue;
			}
			$key   = EdgeJail_Ip::normalize_cidr( $decision['ip_key'] );
			$until = strtotime( $decision['banned_until'] );
			if ( null === $key || false === $until || $until <= $now ) {
				continue;
			}
			set_site_transient( self::transient_name( $key ), $until, min( self::MAX_TTL, $until - $now ) );
			++$stored;
		}
		return $stored;
	}

	/**
	 * Whether the address (or its IPv6 /64) is banned.
	 *
	 * @param string $ip Normalised address.
	 * @return bool
	 */
	public function is_banned( $ip ) {
		$keys = array( $ip );
		if ( EdgeJail_Ip::is_ipv6( $ip ) ) {
			$keys[] = EdgeJail_Ip::prefix( $ip, self::IPV6_PREFIX_BITS );
		}
		foreach ( $keys as $key ) {
			$until = get_site_transient( self::transient_name( $key ) );
			if ( false !== $until && (int) $until > time() ) {
				return true;
			}
		}
		return false;
	}

	/**
	 * Forgets the bans the service lifted (its answer's "unbanned.ip_keys").
	 *
	 * @param array $ip_keys Ban keys (addresses or CIDRs) as the service names them.
	 * @return int How many keys were valid.
	 */
	public function forget( array $ip_keys ) {
		$forgotten = 0;
		foreach ( $ip_keys as $ip_key ) {
			$key = is_string( $ip_key ) ? EdgeJail_Ip::normalize_cidr( $ip_key ) : null;
			if ( null === $key ) {
				continue;
			}
			delete_site_transient( self::transient_name( $key ) );
			++$forgotten;
		}
		return $forgotten;
	}

	/**
	 * Forgets every ban of one address: the address itself and its IPv6 /64.
	 *
	 * @param string $ip Normalised address.
	 */
	public function forget_address( $ip ) {
		$keys = array( $ip );
		if ( EdgeJail_Ip::is_ipv6( $ip ) ) {
			$keys[] = EdgeJail_Ip::prefix( $ip, self::IPV6_PREFIX_BITS );
		}
		$this->forget( $keys );
	}

	/**
	 * Empties the cache (the service said so, or the owner pressed "Clear EdgeJail's ban cache").
	 */
	public function clear() {
		if ( is_multisite() ) {
			update_site_option( self::GENERATION, self::generation() + 1 );
		} else {
			update_option( self::GENERATION, self::generation() + 1, true ); // Autoloaded: read on every refusal check.
		}
		self::forget_all();
	}

	/**
	 * Forgets every cached ban stored in the database: the network's sitemeta, or a single
	 * site's options (uninstall; with an external object cache the entries simply expire
	 * within MAX_TTL).
	 */
	public static function forget_all() {
		global $wpdb;
		$like    = $wpdb->esc_like( '_site_transient_' . self::PREFIX ) . '%';
		$timeout = $wpdb->esc_like( '_site_transient_timeout_' . self::PREFIX ) . '%';
		if ( is_multisite() ) {
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->sitemeta} WHERE site_id = %d AND ( meta_key LIKE %s OR meta_key LIKE %s )", get_current_network_id(), $like, $timeout ) );
		} else {
			$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->options} WHERE option_name LIKE %s OR option_name LIKE %s", $like, $timeout ) );
		}
		if ( ! wp_using_ext_object_cache() ) {
			wp_cache_flush(); // Only this request's in-memory copies.
		}
	}

	/**
	 * Transient name of a ban key.
	 *
	 * @param string $key Normalised address or CIDR.
	 * @return string
	 */
	private static function transient_name( $key ) {
		return self::PREFIX . md5( self::generation() . '|' . $key );
	}

	/**
	 * The cache's generation.
	 *
	 * @return int
	 */
	private static function generation() {
		return (int) get_site_option( self::GENERATION, 0 );
	}
}
