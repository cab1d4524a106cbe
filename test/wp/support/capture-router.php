<?php
/**
 * A stand-in EdgeJail service for the plugin tests, run with `php -S`: verifies each
 * request's HMAC signature itself (the service's rule: HMAC-SHA256(secret,
 * timestamp + "." + raw body), lowercase hex), records it, and answers what the test
 * asked for. State lives in files under CAPTURE_DIR:
 *   secret           the site secret the signature must verify against
 *   requests.jsonl   one JSON line per request received
 *   responses.json   {"<path>": {"status":200,"body":{...},"headers":{...},"delay_ms":0,
 *                              "sign":true,"sign_with":"<other secret>"}}
 * Like the service, it signs each answer to a signed request: X-EdgeJail-Timestamp and
 * X-EdgeJail-Signature = sha256=HMAC-SHA256(secret, timestamp + "." + request signature hex
 * + "." + body). "sign": false sends it unsigned, "sign_with" signs with another secret
 * (a forger's answer).
 */

$dir    = getenv( 'CAPTURE_DIR' );
$path   = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$body   = file_get_contents( 'php://input' );
$secret = is_file( "$dir/secret" ) ? file_get_contents( "$dir/secret" ) : '';

$timestamp = isset( $_SERVER['HTTP_X_EDGEJAIL_TIMESTAMP'] ) ? $_SERVER['HTTP_X_EDGEJAIL_TIMESTAMP'] : '';
$signature = isset( $_SERVER['HTTP_X_EDGEJAIL_SIGNATURE'] ) ? $_SERVER['HTTP_X_EDGEJAIL_SIGNATURE'] : '';
$expected  = 'sha256=' . hash_hmac( 'sha256', $timestamp . '.' . $body, $secret );

$record = array(
	'method'          => $_SERVER['REQUEST_METHOD'],
	'path'            => $path,
	'content_type'    => isset( $_SERVER['CONTENT_TYPE'] ) ? $_SERVER['CONTENT_TYPE'] : null,
	'site'            => isset( $_SERVER['HTTP_X_EDGEJAIL_SITE'] ) ? $_SERVER['HTTP_X_EDGEJAIL_SITE'] : null,
	'timestamp'       => $timestamp,
	'signature'       => $signature,
	'signature_valid' => '' !== $secret && hash_equals( $expected, $signature ),
	'expect_header'   => isset( $_SERVER['HTTP_EXPECT'] ) ? $_SERVER['HTTP_EXPECT'] : null,
	'body'            => $body,
	'received_at'     => microtime( true ),
);
file_put_contents( "$dir/requests.jsonl", json_encode( $record, JSON_UNESCAPED_SLASHES ) . "\n", FILE_APPEND | LOCK_EX );

$responses = is_file( "$dir/responses.json" ) ? json_decode( file_get_contents( "$dir/responses.json" ), true ) : array();
$events    = json_decode( $body, true );
$count     = isset( $events['events'] ) && is_array( $events['events'] ) ? count( $events['events'] ) : 0;
$answer    = isset( $responses[ $path ] ) ? $responses[ $path ] : array(
	'status' => 200,
	'body'   => array(
		'accepted'   => $count,
		'duplicates' => 0,
		'decisions'  => array(),
	),
);
if ( ! empty( $answer['delay_ms'] ) ) {
	usleep( 1000 * (int) $answer['delay_ms'] );
}
$out = json_encode( isset( $answer['body'] ) ? $answer['body'] : new stdClass() );
http_response_code( isset( $answer['status'] ) ? (int) $answer['status'] : 200 );
header( 'Content-Type: application/json' );
$sign_with = isset( $answer['sign_with'] ) ? $answer['sign_with'] : $secret;
if ( ( ! isset( $answer['sign'] ) || false !== $answer['sign'] ) && '' !== $sign_with && preg_match( '/^sha256=([0-9a-f]{64})$/', $signature, $request_hex ) ) {
	$answered_at = (string) time();
	header( 'X-EdgeJail-Timestamp: ' . $answered_at );
	header( 'X-EdgeJail-Signature: sha256=' . hash_hmac( 'sha256', $answered_at . '.' . $request_hex[1] . '.' . $out, $sign_with ) );
}
foreach ( isset( $answer['headers'] ) ? $answer['headers'] : array() as $name => $value ) {
	header( $name . ': ' . $value );
}
echo $out;
