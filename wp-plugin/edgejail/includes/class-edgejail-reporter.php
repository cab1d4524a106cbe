<?php
/**
 * Collects this request's events and delivers them after the response is sent.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * One batch per request, sent at shutdown after fastcgi_finish_request(), so the
 * visitor (or attacker) never waits for the service. Spooled events ride along with
 * fresh ones. When the service is down the batch is spooled, and further requests
 * skip the network until the backoff expires: a site under attack with its service
 * down pays the timeout once per backoff period, not once per request.
 */
class EdgeJail_Reporter {

	/** The service's limits (MAX_EVENTS_PER_BATCH, MAX_BODY_BYTES) with a margin on the bytes. */
	const MAX_BATCH_EVENTS = 500;
	const MAX_BATCH_BYTES  = 240000;

	/** Spooled events read per delivery attempt. */
	const SPOOL_READ = 200;

	/**
	 * Settings.
	 *
	 * @var EdgeJail_Settings
	 */
	private $settings;

	/**
	 * Delivery state.
	 *
	 * @var EdgeJail_Status
	 */
	private $status;

	/**
	 * Local store.
	 *
	 * @var EdgeJail_Spool
	 */
	private $spool;

	/**
	 * HTTP client.
	 *
	 * @var EdgeJail_Transport
	 */
	private $transport;

	/**
	 * Origin ban cache.
	 *
	 * @var EdgeJail_Ban_Cache
	 */
	private $ban_cache;

	/**
	 * Events recorded during this request.
	 *
	 * @var array
	 */
	private $pending = array();

	/**
	 * Aggregate key => index into $pending.
	 *
	 * @var array
	 */
	private $aggregates = array();

	/**
	 * Whether the shutdown delivery is hooked.
	 *
	 * @var bool
	 */
	private $hooked = false;

	/**
	 * Constructor.
	 *
	 * @param EdgeJail_Settings  $settings  Settings.
	 * @param EdgeJail_Status    $status    Delivery state.
	 * @param EdgeJail_Spool     $spool     Local store.
	 * @param EdgeJail_Transport $transport HTTP client.
	 * @param EdgeJail_Ban_Cache $ban_cache Origin ban cache.
	 */
	public function __construct( EdgeJail_Settings $settings, EdgeJail_Status $status, EdgeJail_Spool $spool, EdgeJail_Transport $transport, EdgeJail_Ban_Cache $ban_cache ) {
		$this->settings  = $settings;
		$this->status    = $status;
		$this->spool     = $spool;
		$this->transport = $transport;
		$this->ban_cache = $ban_cache;
	}

	/**
	 * Queues an event for this request's batch.
	 *
	 * @param array       $event         Event.
	 * @param string|null $aggregate_key Events with the same key in one request become one, with the weights added.
	 */
	public function record( array $event, $aggregate_key = null ) {
		if ( null !== $aggregate_key && isset( $this->aggregates[ $aggregate_key ] ) ) {
			$index = $this->aggregates[ $aggregate_key ];
			// An event without a weight (hello) is the same event again: sent once. Adding a
			// weight to it would make the service refuse it, and with it the whole batch.
			if ( isset( $this->pending[ $index ]['weight'] ) ) {
				$this->pending[ $index ] = EdgeJail_Event_Builder::add_weight( $this->pending[ $index ], isset( $event['weight'] ) ? $event['weight'] : 1 );
			}
			return;
		}
		$this->pending[] = $event;
		if ( null !== $aggregate_key ) {
			$this->aggregates[ $aggregate_key ] = count( $this->pending ) - 1;
		}
		if ( ! $this->hooked ) {
			$this->hooked = true;
			add_action( 'shutdown', array( $this, 'deliver_after_response' ), PHP_INT_MAX );
		}
	}

	/**
	 * Events waiting for this request's delivery.
	 *
	 * @return array
	 */
	public function pending() {
		return $this->pending;
	}

	/**
	 * Shutdown: let the client go, then deliver.
	 */
	public function deliver_after_response() {
		if ( empty( $this->pending ) ) {
			return;
		}
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		} elseif ( function_exists( 'litespeed_finish_request' ) ) {
			litespeed_finish_request();
		}
		$this->deliver();
	}

	/**
	 * Sends this request's events (with spooled ones riding along), or spools them.
	 *
	 * @return string|null 'sent', 'spooled', 'rejected', or null when there was nothing to do.
	 */
	public function deliver() {
		$fresh            = $this->pending;
		$this->pending    = array();
		$this->aggregates = array();
		if ( empty( $fresh ) ) {
			return null;
		}
		return $this->send( $fresh, false );
	}

	/**
	 * Sends spooled events (WP-Cron, or the admin's "send now").
	 *
	 * @param bool $ignore_backoff Try even while backing off.
	 * @param int  $max_batches    Most batches in this run.
	 * @return string|null Outcome of the last batch, null when the spool was empty.
	 */
	public function flush_spool( $ignore_backoff = false, $max_batches = 5 ) {
		$outcome = null;
		for ( $i = 0; $i < $max_batches; $i++ ) {
			$this->status->set( 'spool_pending', true ); // A cron run always looks, in case the hint is stale.
			$outcome = $this->send( array(), $ignore_backoff );
			if ( 'sent' !== $outcome || ! $this->status->get( 'spool_pending' ) ) {
				break;
			}
		}
		return $outcome;
	}

	/**
	 * One delivery attempt.
	 *
	 * @param array $fresh          Events of this request.
	 * @param bool  $ignore_backoff Try even while backing off.
	 * @return string|null
	 */
	private function send( array $fresh, $ignore_backoff ) {
		if ( ! $this->settings->is_configured() ) {
			return null;
		}
		if ( ! $ignore_backoff && $this->status->in_backoff() ) {
			$this->spool_events( $fresh );
			$this->status->save();
			return empty( $fresh ) ? null : 'spooled';
		}

		list( $batch, $overflow ) = $this->fit( $fresh, array() );
		$spooled                  = array();
		if ( $this->status->get( 'spool_pending' ) && count( $batch ) < self::MAX_BATCH_EVENTS ) {
			$candidates = $this->spool->oldest( min( self::SPOOL_READ, self::MAX_BATCH_EVENTS - count( $batch ) ) );
			if ( empty( $candidates ) ) {
				$this->status->set( 'spool_pending', false );
			}
			list( $batch, $unused ) = $this->fit( array_values( $candidates ), $batch );
			$spooled                = array_slice( array_keys( $candidates ), 0, count( $candidates ) - count( $unused ) );
		}
		if ( empty( $batch ) ) {
			$this->status->save();
			return null;
		}

		$response = $this->transport->post_events( $batch, $this->status->get( 'unban_cursor' ) );
		$fresh_in_batch = count( $batch ) - count( $spooled );
		if ( $response->is_success() ) {
			$this->spool->remove( $spooled );
			$this->take_answer( $response->data() );
			$this->status->record_success( count( $batch ) );
			$outcome = 'sent';
		} elseif ( $response->is_retryable() ) {
			$overflow = array_merge( array_slice( $batch, 0, $fresh_in_batch ), $overflow );
			if ( self::only_hello( $batch ) ) {
				// An activation or settings save before the service is up must not make the
				// first attack reports wait out a backoff: the hello simply rides along later.
				$this->status->record_error( $response->describe() );
			} else {
				$this->status->record_failure( $response->describe(), $response->retry_after() );
			}
			$outcome = 'spooled';
		} else {
			$this->spool->remove( $spooled );
			$message = sprintf( 'service refused %d event(s), dropped: %s', count( $batch ), $response->describe() );
			$this->status->record_rejection( $message, count( $batch ) );
			error_log( 'EdgeJail: ' . $message ); // phpcs:ignore WordPress.PHP.DevelopmentFunctions.error_log_error_log -- a site owner must be able to find this.
			$outcome = 'rejected';
		}
		$this->spool_events( $overflow );
		if ( ! empty( $spooled ) && empty( $overflow ) ) {
			$this->status->set( 'spool_pending', $this->spool->count() > 0 );
		}
		$this->status->save();
		return $outcome;
	}

	/**
	 * Sends events now, outside the batch (a self-unlock: the user waits for the answer).
	 *
	 * @param array $events Events.
	 * @return EdgeJail_Service_Response
	 */
	public function send_now( array $events ) {
		$response = $this->transport->post_events( $events, $this->status->get( 'unban_cursor' ) );
		if ( $response->is_success() ) {
			$this->take_answer( $response->data() );
		} else {
			$this->status->record_error( $response->describe() );
		}
		$this->status->save();
		return $response;
	}

	/**
	 * Asks the service, with an empty batch, which bans it lifted since the last answer
	 * (the origin cache is about to refuse someone on the strength of an old answer).
	 *
	 * @return bool Whether a signed answer was taken.
	 */
	public function sync() {
		if ( ! $this->settings->is_configured() || $this->status->in_backoff() ) {
			return false;
		}
		$cursor   = $this->status->get( 'unban_cursor' );
		$response = $this->transport->post_events( array(), null === $cursor ? 0 : $cursor );
		if ( $response->is_success() ) {
			$this->take_answer( $response->data() );
		} else {
			$this->status->record_error( 'sync: ' . $response->describe() );
		}
		$this->status->save();
		return $response->is_success();
	}

	/**
	 * What a signed answer tells the origin: lifted bans first (a key lifted and banned
	 * again comes back in the decisions), current bans, the login shield.
	 *
	 * @param array $data The answer.
	 */
	private function take_answer( array $data ) {
		$this->status->set( 'last_synced_at', time() );
		if ( isset( $data['unbanned'] ) && is_array( $data['unbanned'] ) ) {
			$unbanned = $data['unbanned'];
			if ( ! empty( $unbanned['clear_all'] ) ) {
				$this->ban_cache->clear();
			} elseif ( isset( $unbanned['ip_keys'] ) && is_array( $unbanned['ip_keys'] ) ) {
				$this->ban_cache->forget( $unbanned['ip_keys'] );
			}
			if ( isset( $unbanned['cursor'] ) && is_int( $unbanned['cursor'] ) && $unbanned['cursor'] >= 0 ) {
				$this->status->set( 'unban_cursor', $unbanned['cursor'] );
			}
		}
		if ( $this->settings->get( 'origin_bans' ) && isset( $data['decisions'] ) && is_array( $data['decisions'] ) ) {
			$this->ban_cache->remember( $data['decisions'] );
		}
		if ( isset( $data['shield'] ) ) {
			$this->status->record_shield( $data['shield'] );
		}
	}

	/**
	 * Whether a batch carries nothing but hello events.
	 *
	 * @param array $batch Events.
	 * @return bool
	 */
	private static function only_hello( array $batch ) {
		foreach ( $batch as $event ) {
			if ( 'hello' !== $event['type'] ) {
				return false;
			}
		}
		return true;
	}

	/**
	 * Appends events to $batch while the batch stays within the service's limits.
	 *
	 * @param array $events Candidates, in order.
	 * @param array $batch  Batch so far.
	 * @return array [batch, events that did not fit]
	 */
	private function fit( array $events, array $batch ) {
		$bytes = strlen( EdgeJail_Transport::encode_batch( $batch ) );
		foreach ( $events as $index => $event ) {
			$size = strlen( (string) wp_json_encode( $event, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE ) ) + 1;
			if ( count( $batch ) >= self::MAX_BATCH_EVENTS || $bytes + $size > self::MAX_BATCH_BYTES ) {
				return array( $batch, array_slice( $events, $index ) );
			}
			$batch[] = $event;
			$bytes  += $size;
		}
		return array( $batch, array() );
	}

	/**
	 * Keeps events for later, within the cap.
	 *
	 * @param array $events Events.
	 */
	private function spool_events( array $events ) {
		if ( empty( $events ) ) {
			return;
		}
		$this->status->record_overflow( $this->spool->push( $events, $this->settings->get( 'spool_max' ) ) );
		$this->status->set( 'spool_pending', true );
	}
}
