<?php
// Router for `php -S` serving the wp-env site: real files as they are, everything
// else through index.php, as nginx's try_files would.
$edgejail_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$edgejail_file = $_SERVER['DOCUMENT_ROOT'] . $edgejail_path;
if ( '/' !== $edgejail_path && ( is_file( $edgejail_file ) || is_file( rtrim( $edgejail_file, '/' ) . '/index.php' ) ) ) {
	return false;
}
// A subdirectory network's blog: /second/wp-admin/x.php is /wp-admin/x.php, with the blog's
// REQUEST_URI (WordPress's own rewrite rule for such networks; only the test network has one).
if ( is_file( $_SERVER['DOCUMENT_ROOT'] . '/../wp-config-multisite.php' ) && preg_match( '#^/[_0-9a-zA-Z-]+(/(?:wp-(?:admin|includes|content)/.*|[^/]+\.php))$#', $edgejail_path, $edgejail_blog ) ) {
	$edgejail_script = '/' === substr( $edgejail_blog[1], -1 ) ? $edgejail_blog[1] . 'index.php' : $edgejail_blog[1];
	if ( '.php' === substr( $edgejail_script, -4 ) && is_file( $_SERVER['DOCUMENT_ROOT'] . $edgejail_script ) ) {
		$_SERVER['SCRIPT_NAME']     = $edgejail_script;
		$_SERVER['PHP_SELF']        = $edgejail_script;
		$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . $edgejail_script;
		chdir( dirname( $_SERVER['SCRIPT_FILENAME'] ) );
		require $_SERVER['SCRIPT_FILENAME'];
		return;
	}
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
chdir( $_SERVER['DOCUMENT_ROOT'] );
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
