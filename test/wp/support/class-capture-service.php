<?php
/**
 * The stand-in service (support/capture-router.php) and what it received.
 */
class EdgeJail_Test_Capture_Service {

	/** @var string */
	public $dir;

	/** @var EdgeJail_Test_Background_Server */
	public $server;

	public function __construct( $dir ) {
		$this->dir = $dir;
		if ( ! is_dir( $dir ) ) {
			mkdir( $dir, 0700, true );
		}
		// The listener stands for the service, not for the site: in the PHP matrix it runs on
		// the host's php (WP_TEST_LISTENER_PHP), so only the site runs on the PHP under test.
		$php          = getenv( 'WP_TEST_LISTENER_PHP' ) ? getenv( 'WP_TEST_LISTENER_PHP' ) : null;
		$this->server = new EdgeJail_Test_Background_Server( array( __DIR__ . '/capture-router.php' ), array( 'CAPTURE_DIR' => $dir ), $dir . '/server.log', $php );
	}

	public function url() {
		return $this->server->url();
	}

	public function expect_secret( $secret ) {
		file_put_contents( $this->dir . '/secret', $secret );
	}

	/**
	 * Forgets what was received and answers the default (200, decisions: []).
	 */
	public function reset() {
		@unlink( $this->dir . '/requests.jsonl' );
		@unlink( $this->dir . '/responses.json' );
	}

	/**
	 * The answer for a path: status, body, headers, delay_ms.
	 */
	public function respond( $path, array $answer ) {
		$file      = $this->dir . '/responses.json';
		$responses = is_file( $file ) ? json_decode( file_get_contents( $file ), true ) : array();
		$responses[ $path ] = $answer;
		file_put_contents( $file, json_encode( $responses ) );
	}

	/**
	 * Requests received so far; each with 'events' decoded from the body.
	 *
	 * @return array
	 */
	public function requests() {
		$file = $this->dir . '/requests.jsonl';
		if ( ! is_file( $file ) ) {
			return array();
		}
		$requests = array();
		foreach ( file( $file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES ) as $line ) {
			$request           = json_decode( $line, true );
			$decoded           = json_decode( $request['body'], true );
			$request['events'] = isset( $decoded['events'] ) ? $decoded['events'] : array();
			$requests[]        = $request;
		}
		return $requests;
	}

	/**
	 * Every event received, in order.
	 *
	 * @return array
	 */
	public function events() {
		$events = array();
		foreach ( $this->requests() as $request ) {
			foreach ( $request['events'] as $event ) {
				$events[] = $event;
			}
		}
		return $events;
	}
}
