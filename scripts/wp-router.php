<?php
// Router for `php -S` serving the wp-env site: real files as they are, everything
// else through index.php, as nginx's try_files would.
$edgejail_path = (string) parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
$edgejail_file = $_SERVER['DOCUMENT_ROOT'] . $edgejail_path;
if ( '/' !== $edgejail_path && ( is_file( $edgejail_file ) || is_file( rtrim( $edgejail_file, '/' ) . '/index.php' ) ) ) {
	return false;
}
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = $_SERVER['DOCUMENT_ROOT'] . '/index.php';
chdir( $_SERVER['DOCUMENT_ROOT'] );
require $_SERVER['DOCUMENT_ROOT'] . '/index.php';
