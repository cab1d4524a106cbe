<?php
/**
 * Signed HTTP requests to the EdgeJail service, with short timeouts.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Signs each request with HMAC-SHA256(secret, timestamp + "." + raw body), as the
 * service verifies it, and verifies the service's signature on each 2xx answer. Uses curl
 * directly when it is there (millisecond timeouts, no Expect: 100-continue round trip),
 * the WordPress HTTP API otherwise. Plain http:// to a host other than this machine is
 * refused unless EDGEJAIL_ALLOW_HTTP is defined true.
 */
class EdgeJail_Transport {

	/**
	 * Settings.
	 *
	 * @var EdgeJail_Settings
	 */
	private $settings;

	/**
	 * Constructor.
	 *
	 * @param EdgeJail_Settings $settings Settings.
	 */
	public function __construct( EdgeJail_Settings $settings ) {
		$this->settings = $settings;
	}

	/**
	 * POST /v1/events.
	 *
	 * @param array    $events       Events (0-500; none only as a sync, with a cursor).
	 * @param int|null $unban_cursor The last answer's unbanned.cursor.
	 * @return EdgeJail_Service_Response
	 */
	public function post_events( array $events, $unban_cursor = null ) {
		return $this->request( 'POST', '/v1/events', self::encode_batch( $events, $unban_cursor ) );
	}

	/**
	 * A signed GET (the body signed is the empty string).
	 *
	 * @param string $path Path under the service URL.
	 * @return EdgeJail_Service_Response
	 */
	public function get( $path ) {
		return $this->request( 'GET', $path, '' );
	}

	/**
	 * The JSON body of a batch.
	 *
	 * @param array    $events       Events.
	 * @param int|null $unban_cursor The last answer's unbanned.cursor (the answer then lists the unbans since).
	 * @return string
	 */
	public static function encode_batch( array $events, $unban_cursor = null ) {
		$batch = array( 'events' => array_values( $events ) );
		if ( null !== $unban_cursor ) {
			$batch['unban_cursor'] = (int) $unban_cursor;
		}
		return (string) wp_json_encode( $batch, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE );
	}

	/**
	 * The signature header value for a body sent at a time.
	 *
	 * @param string $secret    Shared secret.
	 * @param int    $timestamp Unix seconds.
	 * @param string $body      Raw body.
	 * @return string
	 */
	public static function signature( $secret, $timestamp, $body ) {
		return 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $body, $secret );
	}

	/**
	 * Sends one signed request.
	 *
	 * @param string $method GET or POST.
	 * @param string $path   Path.
	 * @param string $body   Raw body.
	 * @return EdgeJail_Service_Response
	 */
	private function request( $method, $path, $body ) {
		if ( ! $this->settings->is_configured() ) {
			return new EdgeJail_Service_Response( 0, '', null, 'not configured (URL, site id and secret are needed)' );
		}
		$insecure = $this->settings->insecure_url_problem();
		if ( '' !== $insecure ) {
			return new EdgeJail_Service_Response( 0, '', null, $insecure );
		}
		$timestamp = time();
		$secret    = $this->settings->get( 'secret' );
		$signature = self::signature( $secret, $timestamp, $body );
		$headers   = array(
			'Content-Type'         => 'application/json',
			'Accept'               => 'application/json',
			'X-EdgeJail-Site'      => $this->settings->get( 'site_id' ),
			'X-EdgeJail-Timestamp' => (string) $timestamp,
			'X-EdgeJail-Signature' => $signature,
			'User-Agent'           => 'EdgeJail-WordPress/' . EDGEJAIL_PLUGIN_VERSION,
		);
		$url       = $this->settings->get( 'url' ) . $path;
		$timeout   = (float) $this->settings->get( 'timeout' );
		$connect   = (float) $this->settings->get( 'connect_timeout' );
		if ( function_exists( 'curl_init' ) ) {
			$answer = $this->send_with_curl( $method, $url, $headers, $body, $connect, $timeout );
		} else {
			$answer = $this->send_with_wp_http( $method, $url, $headers, $body, $timeout );
		}
		return $answer['response']->verify_signature( $secret, $signature, $answer['body'], $answer['timestamp'], $answer['signature'] );
	}

	/**
	 * Sends with the curl extension.
	 *
	 * @param string $method  Method.
	 * @param string $url     URL.
	 * @param array  $headers Headers.
	 * @param string $body    Body.
	 * @param float  $connect Connect timeout (s).
	 * @param float  $timeout Total timeout (s).
	 * @return array See answer().
	 */
	private function send_with_curl( $method, $url, array $headers, $body, $connect, $timeout ) {
		$lines = array( 'Expect:' );
		foreach ( $headers as $name => $value ) {
			$lines[] = $name . ': ' . $value;
		}
		$answer      = array(
			'retry-after'          => null,
			'x-edgejail-timestamp' => null,
			'x-edgejail-signature' => null,
		);
		$handle      = curl_init( $url );
		$options     = array(
			CURLOPT_CUSTOMREQUEST  => $method,
			CURLOPT_HTTPHEADER     => $lines,
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_FOLLOWLOCATION => false,
			CURLOPT_NOSIGNAL       => true,
			CURLOPT_CONNECTTIMEOUT_MS => (int) ceil( $connect * 1000 ),
			CURLOPT_TIMEOUT_MS     => (int) ceil( $timeout * 1000 ),
			CURLOPT_HEADERFUNCTION => function ( $curl, $line ) use ( &$answer ) {
				$colon = strpos( $line, ':' );
				if ( false !== $colon ) {
					$name = strtolower( trim( substr( $line, 0, $colon ) ) );
					if ( array_key_exists( $name, $answer ) ) {
						$answer[ $name ] = trim( substr( $line, $colon + 1 ) );
					}
				}
				return strlen( $line );
			},
		);
		if ( defined( 'CURLOPT_PROTOCOLS' ) ) {
			$options[ CURLOPT_PROTOCOLS ] = CURLPROTO_HTTP | CURLPROTO_HTTPS;
		}
		if ( 'POST' === $method ) {
			$options[ CURLOPT_POSTFIELDS ] = $body;
		}
		curl_setopt_array( $handle, $options );
		$response_body = curl_exec( $handle );
		$status        = (int) curl_getinfo( $handle, CURLINFO_RESPONSE_CODE );
		$error         = false === $response_body ? curl_error( $handle ) : '';
		if ( PHP_VERSION_ID < 80000 ) {
			curl_close( $handle ); // A no-op since PHP 8.0, deprecated since 8.5.
		}
		if ( false === $response_body ) {
			return self::answer( new EdgeJail_Service_Response( 0, '', null, $error ), '', null, null );
		}
		return self::answer( new EdgeJail_Service_Response( $status, $response_body, $answer['retry-after'] ), $response_body, $answer['x-edgejail-timestamp'], $answer['x-edgejail-signature'] );
	}

	/**
	 * What a send returns: the classified response, plus what its signature check needs.
	 *
	 * @param EdgeJail_Service_Response $response  Response.
	 * @param string                    $body      Raw body.
	 * @param string|null               $timestamp X-EdgeJail-Timestamp of the answer.
	 * @param string|null               $signature X-EdgeJail-Signature of the answer.
	 * @return array
	 */
	private static function answer( EdgeJail_Service_Response $response, $body, $timestamp, $signature ) {
		return array(
			'response'  => $response,
			'body'      => (string) $body,
			'timestamp' => $timestamp,
			'signature' => $signature,
		);
	}

	/**
	 * Sends with the WordPress HTTP API (hosts without the curl extension).
	 *
	 * @param string $method  Method.
	 * @param string $url     URL.
	 * @param array  $headers Headers.
	 * @param string $body    Body.
	 * @param float  $timeout Total timeout (s).
	 * @return array See answer().
	 */
	private function send_with_wp_http( $method, $url, array $headers, $body, $timeout ) {
		$result = wp_remote_request(
			$url,
			array(
				'method'      => $method,
				'headers'     => $headers,
				'body'        => 'POST' === $method ? $body : null,
				'timeout'     => $timeout,
				'redirection' => 0,
				'blocking'    => true,
			)
		);
		if ( is_wp_error( $result ) ) {
			return self::answer( new EdgeJail_Service_Response( 0, '', null, $result->get_error_message() ), '', null, null );
		}
		$body = wp_remote_retrieve_body( $result );
		return self::answer(
			new EdgeJail_Service_Response( (int) wp_remote_retrieve_response_code( $result ), $body, wp_remote_retrieve_header( $result, 'retry-after' ) ),
			$body,
			wp_remote_retrieve_header( $result, 'x-edgejail-timestamp' ),
			wp_remote_retrieve_header( $result, 'x-edgejail-signature' )
		);
	}
}
