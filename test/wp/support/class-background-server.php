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

	/** @var string */
	private $php;

	/**
	 * @param array       $args Arguments after `php -S 127.0.0.1:PORT`.
	 * @param array       $env  Extra environment.
	 * @param string      $log  Where the server's output goes.
	 * @param string|null $php  The php binary; default the one running the tests.
	 */
	public function __construct( array $args, array $env, $log, $php = null ) {
		$this->command = $args;
		$this->env     = $env;
		$this->log     = $log;
		$this->php     = null !== $php ? $php : PHP_BINARY;
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
		clearstatcache();
		$log_offset    = is_file( $this->log ) ? filesize( $this->log ) : 0;
		$cmd           = array_merge( array( $this->php, '-S', '127.0.0.1:' . $this->port ), $this->command );
		$env           = array_merge( getenv(), $this->env );
		$this->process = proc_open( $cmd, array( 0 => array( 'file', '/dev/null', 'r' ), 1 => array( 'file', $this->log, 'a' ), 2 => array( 'file', $this->log, 'a' ) ), $pipes, null, $env );
		// Ready once it says so: under php-wasm a connect succeeds before anything listens.
		for ( $i = 0; $i < 600; $i++ ) {
			$said   = (string) @file_get_contents( $this->log, false, null, $log_offset );
			$socket = false !== strpos( $said, ':' . $this->port . ') started' ) ? @fsockopen( '127.0.0.1', $this->port, $errno, $errstr, 0.1 ) : false;
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
			self::terminate( $status['pid'] );
		}
		proc_close( $this->process );
		$this->process = null;
	}

	/**
	 * SIGTERM to a pid. php-wasm (the PHP matrix) has neither posix_kill() nor a working
	 * proc_terminate(), so there it goes through kill(1).
	 */
	public static function terminate( $pid ) {
		if ( function_exists( 'posix_kill' ) ) {
			posix_kill( $pid, SIGTERM );
			return;
		}
		$kill = proc_open( array( 'kill', '-TERM', (string) (int) $pid ), array(), $pipes );
		proc_close( $kill );
	}

	public static function free_port() {
		$server = stream_socket_server( 'tcp://127.0.0.1:0', $errno, $errstr );
		$name   = stream_socket_get_name( $server, false );
		fclose( $server );
		$port = (int) substr( $name, strrpos( $name, ':' ) + 1 );
		if ( 0 === $port ) {
			// php-wasm's sockets are virtual and name no port: ask the host (Node runs php-wasm).
			$out  = tempnam( sys_get_temp_dir(), 'edgejail-port-' );
			$node = proc_open( array( 'node', '-e', 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })' ), array( 1 => array( 'file', $out, 'w' ) ), $pipes );
			proc_close( $node );
			$port = (int) file_get_contents( $out );
			unlink( $out );
		}
		return $port;
	}
}
