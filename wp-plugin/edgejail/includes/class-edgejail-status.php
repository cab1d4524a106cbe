<?php
/**
 * Delivery state: what was last sent, the last error, backoff and drop counters.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * One autoloaded option, written at most once per request, after the response is sent.
 */
class EdgeJail_Status {

	const OPTION = 'edgejail_status';

	/** Backoff after the first failure and its ceiling (seconds). */
	const BACKOFF_BASE = 30;
	const BACKOFF_MAX  = 3600;

	/**
	 * Current values.
	 *
	 * @var array|null
	 */
	private $values = null;

	/**
	 * Whether $values differ from the stored option.
	 *
	 * @var bool
	 */
	private $dirty = false;

	/**
	 * Initial values.
	 *
	 * @return array
	 */
	public static function defaults() {
		return array(
			'last_sent_at'         => 0,
			'last_sent_count'      => 0,
			'last_error'           => '',
			'last_error_at'        => 0,
			'consecutive_failures' => 0,
			'backoff_until'        => 0,
			'spool_pending'        => false,
			'dropped_overflow'     => 0,
			'dropped_rejected'     => 0,
			// The service's login shield for this site, as its last answer said.
			'shield'               => array( 'up' => false ),
			// The service's `unbanned.cursor`: the unbans this cache has already applied.
			'unban_cursor'         => null,
			// Last signed answer taken (any route): the origin cache is that fresh.
			'last_synced_at'       => 0,
		);
	}

	/**
	 * One value.
	 *
	 * @param string $key Name.
	 * @return mixed
	 */
	public function get( $key ) {
		$this->load();
		return $this->values[ $key ];
	}

	/**
	 * All values.
	 *
	 * @return array
	 */
	public function all() {
		$this->load();
		return $this->values;
	}

	/**
	 * Whether delivery attempts should wait (the service failed recently).
	 *
	 * @return bool
	 */
	public function in_backoff() {
		return $this->get( 'backoff_until' ) > time();
	}

	/**
	 * The service took a batch.
	 *
	 * @param int $count Events sent.
	 */
	public function record_success( $count ) {
		$this->set( 'last_sent_at', time() );
		$this->set( 'last_sent_count', (int) $count );
		$this->set( 'consecutive_failures', 0 );
		$this->set( 'backoff_until', 0 );
	}

	/**
	 * The service could not take a batch now; wait before the next try.
	 *
	 * @param string   $message     What went wrong (never contains the secret).
	 * @param int|null $retry_after The service's Retry-After, in seconds.
	 */
	public function record_failure( $message, $retry_after ) {
		$failures = $this->get( 'consecutive_failures' ) + 1;
		$wait     = null !== $retry_after ? $retry_after : self::BACKOFF_BASE * ( 2 ** min( $failures - 1, 10 ) );
		$this->set( 'consecutive_failures', $failures );
		$this->set( 'backoff_until', time() + max( 1, min( self::BACKOFF_MAX, (int) $wait ) ) );
		$this->record_error( $message );
	}

	/**
	 * Keeps what the service said of the site's login shield.
	 *
	 * @param mixed $shield The answer's "shield".
	 */
	public function record_shield( $shield ) {
		if ( ! is_array( $shield ) || ! isset( $shield['up'] ) ) {
			return;
		}
		$kept = array( 'up' => true === $shield['up'] );
		if ( $kept['up'] ) {
			foreach ( array( 'since', 'until', 'reason' ) as $key ) {
				$kept[ $key ] = isset( $shield[ $key ] ) && is_string( $shield[ $key ] ) ? substr( sanitize_text_field( $shield[ $key ] ), 0, 300 ) : '';
			}
		}
		$this->set( 'shield', $kept );
	}

	/**
	 * The login shield as last heard of, or null when it is down. One whose `until` has
	 * passed is down: a site that stopped hearing from the service must not stay shielded.
	 *
	 * @return array|null up, since, until, reason.
	 */
	public function shield_up() {
		$shield = $this->get( 'shield' );
		if ( ! is_array( $shield ) || empty( $shield['up'] ) ) {
			return null;
		}
		$until = isset( $shield['until'] ) && '' !== $shield['until'] ? strtotime( $shield['until'] ) : false;
		if ( false !== $until && $until <= time() ) {
			return null;
		}
		return $shield;
	}

	/**
	 * The service refused a batch for good (4xx other than 429): it was dropped.
	 *
	 * @param string $message What the service said.
	 * @param int    $count   Events dropped.
	 */
	public function record_rejection( $message, $count ) {
		$this->set( 'dropped_rejected', $this->get( 'dropped_rejected' ) + (int) $count );
		$this->record_error( $message );
	}

	/**
	 * The spool was full and its oldest events were dropped.
	 *
	 * @param int $count Events dropped.
	 */
	public function record_overflow( $count ) {
		if ( $count > 0 ) {
			$this->set( 'dropped_overflow', $this->get( 'dropped_overflow' ) + (int) $count );
		}
	}

	/**
	 * Notes the latest error for the status box.
	 *
	 * @param string $message Message.
	 */
	public function record_error( $message ) {
		$this->set( 'last_error', substr( (string) $message, 0, 500 ) );
		$this->set( 'last_error_at', time() );
	}

	/**
	 * Sets one value.
	 *
	 * @param string $key   Name.
	 * @param mixed  $value Value.
	 */
	public function set( $key, $value ) {
		$this->load();
		if ( $this->values[ $key ] !== $value ) {
			$this->values[ $key ] = $value;
			$this->dirty          = true;
		}
	}

	/**
	 * Writes the option if anything changed.
	 */
	public function save() {
		if ( $this->dirty ) {
			update_option( self::OPTION, $this->values, true );
			$this->dirty = false;
		}
	}

	/**
	 * Re-reads the option on next use.
	 */
	public function refresh() {
		$this->values = null;
		$this->dirty  = false;
	}

	/**
	 * Reads the option once.
	 */
	private function load() {
		if ( null === $this->values ) {
			$stored       = get_option( self::OPTION, array() );
			$this->values = array_merge( self::defaults(), is_array( $stored ) ? $stored : array() );
		}
	}
}
