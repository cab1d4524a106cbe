<?php
/**
 * What the service answered, classified the way delivery needs it.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * Success, "try again later" (network error, 5xx, 408, 429) or "refused for good" (other 4xx).
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
		return $this->status >= 200 && $this->status < 300;
	}

	/**
	 * Worth keeping the events and trying later.
	 *
	 * @return bool
	 */
	public function is_retryable() {
		return 0 === $this->status || 408 === $this->status || 429 === $this->status || $this->status >= 500 || ( $this->status >= 300 && $this->status < 400 );
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
