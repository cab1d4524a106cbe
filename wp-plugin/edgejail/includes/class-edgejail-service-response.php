<?php
/**
 * What the service answered, classified the way delivery needs it.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Success, "try again later" (network error, 5xx, 408, 429) or "refused for good" (other 4xx).
 *
 * A 2xx answer counts only when the service signed it for this very request (see
 * verify_signature()): a forged answer is refused like a failure, so nothing it carries
 * (decisions, ranges) is taken, and the events are retried (the service drops duplicates).
 */
final class EdgeJail_Service_Response {

	/**
	 * HTTP status; 0 when no answer arrived.
	 *
	 * @var int
	 */
	private $status;

	/**
	 * Decoded JSON body, or null.
	 *
	 * @var array|null
	 */
	private $data;

	/**
	 * Retry-After in seconds, if the service sent one.
	 *
	 * @var int|null
	 */
	private $retry_after;

	/**
	 * Transport error (connection refused, timeout...), if any.
	 *
	 * @var string
	 */
	private $transport_error;

	/**
	 * Why a 2xx answer was refused (not signed, or signed wrongly); '' when it was not.
	 *
	 * @var string
	 */
	private $refusal = '';

	/**
	 * Constructor.
	 *
	 * @param int         $status          HTTP status (0: no answer).
	 * @param string      $body            Raw body.
	 * @param string|null $retry_after     Retry-After header.
	 * @param string      $transport_error Why there was no answer.
	 */
	public function __construct( $status, $body, $retry_after = null, $transport_error = '' ) {
		$this->status          = (int) $status;
		$decoded               = is_string( $body ) && '' !== $body ? json_decode( $body, true ) : null;
		$this->data            = is_array( $decoded ) ? $decoded : null;
		$this->retry_after     = self::parse_retry_after( $retry_after );
		$this->transport_error = (string) $transport_error;
	}

	/**
	 * The answer's expected signature: HMAC-SHA256(secret, timestamp + "." + the request's
	 * signature hex + "." + raw body), as "sha256=<lowercase hex>".
	 *
	 * @param string $secret            Shared secret.
	 * @param string $timestamp         The answer's X-EdgeJail-Timestamp.
	 * @param string $request_signature The request's X-EdgeJail-Signature ("sha256=<hex>").
	 * @param string $body              Raw answer body.
	 * @return string
	 */
	public static function answer_signature( $secret, $timestamp, $request_signature, $body ) {
		$hex = preg_replace( '/^sha256=/', '', (string) $request_signature );
		return 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $hex . '.' . $body, $secret );
	}

	/**
	 * Checks a 2xx answer's signature (constant time); a missing or wrong one turns the
	 * answer into a refusal. Other statuses carry nothing the plugin acts on and are
	 * left as they are (the service cannot sign what it refuses before authentication).
	 *
	 * @param string      $secret            Shared secret.
	 * @param string      $request_signature The request's X-EdgeJail-Signature.
	 * @param string      $body              Raw answer body.
	 * @param string|null $timestamp         The answer's X-EdgeJail-Timestamp header.
	 * @param string|null $signature         The answer's X-EdgeJail-Signature header.
	 * @return self
	 */
	public function verify_signature( $secret, $request_signature, $body, $timestamp, $signature ) {
		if ( $this->status < 200 || $this->status >= 300 ) {
			return $this;
		}
		$timestamp = is_string( $timestamp ) ? trim( $timestamp ) : '';
		$signature = is_string( $signature ) ? trim( $signature ) : '';
		if ( '' === $signature || ! preg_match( '/^\d{1,12}$/', $timestamp ) ) {
			$this->refuse( 'the answer is not signed (no X-EdgeJail-Signature/X-EdgeJail-Timestamp): not from the EdgeJail service, or a proxy in between stripped them' );
		} elseif ( ! hash_equals( self::answer_signature( $secret, $timestamp, $request_signature, (string) $body ), $signature ) ) {
			$this->refuse( 'the answer is signed wrongly: forged, altered on the way, or the service holds another secret for this site' );
		}
		return $this;
	}

	/**
	 * Refuses this answer: nothing it carries is used.
	 *
	 * @param string $why Reason, for the status box.
	 */
	private function refuse( $why ) {
		$this->refusal = $why;
		$this->data    = null;
	}

	/**
	 * Why the answer was refused, or ''.
	 *
	 * @return string
	 */
	public function refusal() {
		return $this->refusal;
	}

	/**
	 * HTTP status (0: no answer).
	 *
	 * @return int
	 */
	public function status() {
		return $this->status;
	}

	/**
	 * Decoded body.
	 *
	 * @return array
	 */
	public function data() {
		return null === $this->data ? array() : $this->data;
	}

	/**
	 * Retry-After in seconds, or null.
	 *
	 * @return int|null
	 */
	public function retry_after() {
		return $this->retry_after;
	}

	/**
	 * 2xx.
	 *
	 * @return bool
	 */
	public function is_success() {
		return '' === $this->refusal && $this->status >= 200 && $this->status < 300;
	}

	/**
	 * Worth keeping the events and trying later.
	 *
	 * @return bool
	 */
	public function is_retryable() {
		return '' !== $this->refusal || 0 === $this->status || 408 === $this->status || 429 === $this->status || $this->status >= 500 || ( $this->status >= 300 && $this->status < 400 );
	}

	/**
	 * Refused for good: retrying the same batch would only be refused again.
	 *
	 * @return bool
	 */
	public function is_rejected() {
		return ! $this->is_success() && ! $this->is_retryable();
	}

	/**
	 * One line for the status box and logs: the service's own error code and message.
	 *
	 * @return string
	 */
	public function describe() {
		if ( 0 === $this->status ) {
			return 'service unreachable: ' . $this->transport_error;
		}
		if ( '' !== $this->refusal ) {
			return 'HTTP ' . $this->status . ' answer refused: ' . $this->refusal;
		}
		$text = 'HTTP ' . $this->status;
		if ( isset( $this->data['error'] ) && is_string( $this->data['error'] ) ) {
			$text .= ' ' . $this->data['error'];
		}
		if ( isset( $this->data['message'] ) && is_string( $this->data['message'] ) ) {
			$text .= ': ' . $this->data['message'];
		}
		return substr( $text, 0, 500 );
	}

	/**
	 * Seconds from a Retry-After header (delta-seconds or an HTTP date).
	 *
	 * @param string|null $value Header value.
	 * @return int|null
	 */
	private static function parse_retry_after( $value ) {
		if ( null === $value || '' === trim( $value ) ) {
			return null;
		}
		$value = trim( $value );
		if ( ctype_digit( $value ) ) {
			return (int) $value;
		}
		$when = strtotime( $value );
		return false === $when ? null : max( 0, $when - time() );
	}
}
