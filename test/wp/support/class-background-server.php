<?php
/**
 * A `php -S` process on a free loopback port, stopped when the test run ends.
 */
class EdgeJail_Test_Background_Server {

	/** @var resource|null */
	private $process = null;

	/** @var int */
	public $port = 0;

	/** @var array */
	private $command;

	/** @var array */
	private $env;

	/** @var string */
	private $log;

	/**
	 * @param array  $args Arguments after `php -S 127.0.0.1:PORT`.
	 * @param array  $env  Extra environment.
	 * @param string $log  Where the server's output goes.
	 */
	public function __construct( array $args, array $env, $log ) {
		$this->command = $args;
		$this->env     = $env;
		$this->log     = $log;
	}

	public function url() {
		return 'http://127.0.0.1:' . $this->port;
	}

	public function is_running() {
		return null !== $this->process && proc_get_status( $this->process )['running'];
	}

	/**
	 * Starts the server (on the same port as before, if it ran already).
	 */
	public function start() {
		if ( $this->is_running() ) {
			return;
		}
		if ( 0 === $this->port ) {
			$this->port = self::free_port();
		}
		$cmd           = array_merge( array( PHP_BINARY, '-S', '127.0.0.1:' . $this->port ), $this->command );
		$env           = array_merge( getenv(), $this->env );
		$this->process = proc_open( $cmd, array( 0 => array( 'file', '/dev/null', 'r' ), 1 => array( 'file', $this->log, 'a' ), 2 => array( 'file', $this->log, 'a' ) ), $pipes, null, $env );
		for ( $i = 0; $i < 100; $i++ ) {
			$socket = @fsockopen( '127.0.0.1', $this->port, $errno, $errstr, 0.1 );
			if ( $socket ) {
				fclose( $socket );
				return;
			}
			usleep( 50000 );
		}
		throw new RuntimeException( 'php -S did not start on port ' . $this->port . ': ' . file_get_contents( $this->log ) );
	}

	/**
	 * Stops it; the port stays reserved for a restart (nothing else listens there meanwhile).
	 */
	public function stop() {
		if ( null === $this->process ) {
			return;
		}
		$status = proc_get_status( $this->process );
		if ( $status['running'] ) {
			posix_kill( $status['pid'], SIGTERM );
		}
		proc_close( $this->process );
		$this->process = null;
	}

	public static function free_port() {
		$server = stream_socket_server( 'tcp://127.0.0.1:0', $errno, $errstr );
		$name   = stream_socket_get_name( $server, false );
		fclose( $server );
		return (int) substr( $name, strrpos( $name, ':' ) + 1 );
	}
}
