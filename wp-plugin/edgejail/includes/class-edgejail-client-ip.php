<?php
/**
 * The address of the client that actually sent the request.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Walks back from REMOTE_ADDR through proxies the site owner trusts. Headers are only
 * believed when the hop that set them is trusted: CF-Connecting-IP from a Cloudflare
 * edge, X-Forwarded-For entries from a configured proxy. A header sent by anyone
 * else is something the attacker wrote, and is ignored.
 */
class EdgeJail_Client_Ip {

	/**
	 * Parsed Cloudflare ranges.
	 *
	 * @var array
	 */
	private $cloudflare;

	/**
	 * Parsed trusted proxy ranges.
	 *
	 * @var array
	 */
	private $trusted_proxies;

	/**
	 * Constructor.
	 *
	 * @param array $cloudflare      Parsed Cloudflare ranges (EdgeJail_Ip::parse_cidr()).
	 * @param array $trusted_proxies Parsed ranges of the site's own proxies / load balancers.
	 */
	public function __construct( array $cloudflare, array $trusted_proxies ) {
		$this->cloudflare      = $cloudflare;
		$this->trusted_proxies = $trusted_proxies;
	}

	/**
	 * The client address, or null when there is none (CLI, broken server config).
	 *
	 * @param array $server $_SERVER or an equivalent.
	 * @return string|null
	 */
	public function resolve( array $server ) {
		$hop = EdgeJail_Ip::normalize( isset( $server['REMOTE_ADDR'] ) ? $server['REMOTE_ADDR'] : null );
		if ( null === $hop ) {
			return null;
		}
		$forwarded = null;
		while ( true ) {
			if ( EdgeJail_Ip::in_ranges( $hop, $this->cloudflare ) ) {
				$client = EdgeJail_Ip::normalize( isset( $server['HTTP_CF_CONNECTING_IP'] ) ? $server['HTTP_CF_CONNECTING_IP'] : null );
				return null === $client ? $hop : $client;
			}
			if ( empty( $this->trusted_proxies ) || ! EdgeJail_Ip::in_ranges( $hop, $this->trusted_proxies ) ) {
				return $hop;
			}
			if ( null === $forwarded ) {
				$header    = isset( $server['HTTP_X_FORWARDED_FOR'] ) ? (string) $server['HTTP_X_FORWARDED_FOR'] : '';
				$forwarded = '' === $header ? array() : explode( ',', $header );
			}
			// The rightmost entry was written by the trusted hop we are standing on.
			$next = EdgeJail_Ip::normalize( array_pop( $forwarded ) );
			if ( null === $next ) {
				return $hop;
			}
			$hop = $next;
		}
	}
}
