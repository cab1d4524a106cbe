<?php
/**
 * Times failed wp-login.php POSTs: php scripts/wp-overhead-client.php URL COUNT WARMUP [TIMES_FILE]
 * Prints one JSON object: {"n", "p50_ms", "p90_ms", "p99_ms", "mean_ms", "statuses"}, and
 * appends each timed request's milliseconds to TIMES_FILE (one per line) when given.
 * Sequential requests on one keep-alive connection, as one attacker's client would send them.
 */
list( , $url, $count, $warmup, $times_file ) = array_pad( $argv, 5, null );
$count  = (int) ( $count ? $count : 300 );
$warmup = (int) ( $warmup ? $warmup : 20 );
$curl   = curl_init( rtrim( $url, '/' ) . '/wp-login.php' );
curl_setopt_array(
	$curl,
	array(
		CURLOPT_POST           => true,
		CURLOPT_RETURNTRANSFER => true,
		CURLOPT_HTTPHEADER     => array( 'Expect:', 'Content-Type: application/x-www-form-urlencoded' ),
		CURLOPT_TIMEOUT        => 30,
	)
);
$times    = array();
$statuses = array();
for ( $i = 0; $i < $warmup + $count; $i++ ) {
	curl_setopt( $curl, CURLOPT_POSTFIELDS, http_build_query( array( 'log' => 'alice', 'pwd' => 'wrong-' . $i ) ) );
	$started = hrtime( true );
	curl_exec( $curl );
	$elapsed = ( hrtime( true ) - $started ) / 1e6;
	$status  = curl_getinfo( $curl, CURLINFO_RESPONSE_CODE );
	if ( $i >= $warmup ) {
		$times[]             = $elapsed;
		$statuses[ $status ] = isset( $statuses[ $status ] ) ? $statuses[ $status ] + 1 : 1;
	}
}
if ( $times_file ) {
	file_put_contents( $times_file, implode( "\n", $times ) . "\n", FILE_APPEND );
}
sort( $times );
$pick = function ( $q ) use ( $times ) {
	return round( $times[ (int) min( count( $times ) - 1, floor( $q * count( $times ) ) ) ], 2 );
};
echo json_encode(
	array(
		'n'        => count( $times ),
		'p50_ms'   => $pick( 0.50 ),
		'p90_ms'   => $pick( 0.90 ),
		'p99_ms'   => $pick( 0.99 ),
		'mean_ms'  => round( array_sum( $times ) / count( $times ), 2 ),
		'statuses' => $statuses,
	)
), "\n";
