<?php
/**
 * wp-content/sunrise.php of the test network (scripts/wp-env.sh, WP_ENV_MULTISITE=1). The
 * network's blogs live on 127.0.0.1, but the tests serve it with `php -S` on a free port:
 * a request to 127.0.0.1:PORT is the same blog, and every URL WordPress builds while
 * answering it keeps that port (its redirects and links must come back to the same server).
 *
 * @package EdgeJail
 */

if ( isset( $_SERVER['HTTP_HOST'] ) && preg_match( '/^127\.0\.0\.1:(\d{1,5})$/', $_SERVER['HTTP_HOST'], $edgejail_sunrise_port ) ) {
	$edgejail_sunrise_port = $edgejail_sunrise_port[1];
	add_filter(
		'pre_get_site_by_path',
		function ( $site, $domain, $path, $segments ) {
			return '127.0.0.1' !== $domain && 0 === strpos( $domain, '127.0.0.1:' ) ? get_site_by_path( '127.0.0.1', $path, $segments ) : $site;
		},
		10,
		4
	);
	$edgejail_sunrise_with_port = function ( $url ) use ( $edgejail_sunrise_port ) {
		return is_string( $url ) ? preg_replace( '#^(https?://127\.0\.0\.1)(?=/|$)#', '$1:' . $edgejail_sunrise_port, $url ) : $url;
	};
	foreach ( array( 'option_home', 'option_siteurl', 'network_site_url', 'network_home_url' ) as $edgejail_sunrise_filter ) {
		add_filter( $edgejail_sunrise_filter, $edgejail_sunrise_with_port );
	}
}
