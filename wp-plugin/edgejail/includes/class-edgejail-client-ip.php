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
		return $this->explain( $server )['ip'];
	}

	/**
	 * The client address and how it was found, for "What IP do you see me as?".
	 *
	 * @param array $server $_SERVER or an equivalent.
	 * @return array ip (string|null), remote_addr, how ('cloudflare', 'proxy_chain', 'direct',
	 *               'none'), hops (the trusted proxies walked through), warnings (string[]).
	 */
	public function explain( array $server ) {
		$remote = EdgeJail_Ip::normalize( isset( $server['REMOTE_ADDR'] ) ? $server['REMOTE_ADDR'] : null );
		$result = array(
			'ip'          => null,
			'remote_addr' => $remote,
			'how'         => 'none',
			'hops'        => array(),
			'warnings'    => array(),
		);
		if ( null === $remote ) {
			return $result;
		}
		$hop       = $remote;
		$forwarded = null;
		while ( true ) {
			if ( EdgeJail_Ip::in_ranges( $hop, $this->cloudflare ) ) {
				$client = EdgeJail_Ip::normalize( isset( $server['HTTP_CF_CONNECTING_IP'] ) ? $server['HTTP_CF_CONNECTING_IP'] : null );
				if ( null !== $client ) {
					$result['ip']  = $client;
					$result['how'] = 'cloudflare';
					break;
				}
				$result['ip']  = $hop;
				$result['how'] = empty( $result['hops'] ) ? 'direct' : 'proxy_chain';
				break;
			}
			if ( empty( $this->trusted_proxies ) || ! EdgeJail_Ip::in_ranges( $hop, $this->trusted_proxies ) ) {
				$result['ip']  = $hop;
				$result['how'] = empty( $result['hops'] ) ? 'direct' : 'proxy_chain';
				break;
			}
			if ( null === $forwarded ) {
				$header    = isset( $server['HTTP_X_FORWARDED_FOR'] ) ? (string) $server['HTTP_X_FORWARDED_FOR'] : '';
				$forwarded = '' === $header ? array() : explode( ',', $header );
			}
			// The rightmost entry was written by the trusted hop we are standing on.
			$next = EdgeJail_Ip::normalize( array_pop( $forwarded ) );
			if ( null === $next ) {
				$result['ip']  = $hop;
				$result['how'] = empty( $result['hops'] ) ? 'direct' : 'proxy_chain';
				break;
			}
			$result['hops'][] = $hop;
			$hop              = $next;
		}
		$result['warnings'] = $this->warnings( $result, $server );
		return $result;
	}

	/**
	 * What looks wrong about a resolution: the usual cause of mass lockouts behind a proxy.
	 *
	 * @param array $result explain()'s result so far.
	 * @param array $server $_SERVER or an equivalent.
	 * @return string[]
	 */
	private function warnings( array $result, array $server ) {
		$warnings = array();
		$ip       = $result['ip'];
		if ( EdgeJail_Ip::in_ranges( $ip, $this->cloudflare ) ) {
			$warnings[] = 'cloudflare_unresolved';
		} elseif ( EdgeJail_Ip::is_private( $ip ) && empty( $this->trusted_proxies ) ) {
			$warnings[] = 'private_without_trusted_proxy';
		}
		if ( 'cloudflare' !== $result['how'] && ! empty( $server['HTTP_CF_CONNECTING_IP'] ) && ! EdgeJail_Ip::in_ranges( $ip, $this->cloudflare ) ) {
			$warnings[] = 'cf_header_ignored';
		}
		return $warnings;
	}
}
