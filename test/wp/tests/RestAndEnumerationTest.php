<?php
/**
 * REST authentication failures and user enumeration, through real HTTP requests.
 */
class RestAndEnumerationTest extends EdgeJail_Test_Case {

	/** @var string */
	private static $app_password;

	public static function setUpBeforeClass(): void {
		// Core only checks application passwords once some user has one.
		$user = get_user_by( 'login', getenv( 'WP_ENV_USER' ) );
		list( self::$app_password ) = WP_Application_Passwords::create_new_application_password( $user->ID, array( 'name' => 'edgejail-test' ) );
	}

	public static function tearDownAfterClass(): void {
		$user = get_user_by( 'login', getenv( 'WP_ENV_USER' ) );
		WP_Application_Passwords::delete_all_application_passwords( $user->ID );
	}

	public function test_a_wrong_application_password_is_reported_as_app_password_failed() {
		$response = self::http( 'GET', '/?rest_route=/wp/v2/users/me', null, array( 'Authorization: Basic ' . base64_encode( getenv( 'WP_ENV_USER' ) . ':abcd efgh ijkl mnop qrst uvwx' ) ) );
		$this->assertSame( 401, $response['status'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'app_password_failed', $events[0]['type'] );
		$this->assertSame( getenv( 'WP_ENV_USER' ), $events[0]['username'] );
		$this->assertSame( 'incorrect_password', $events[0]['error_code'] );
	}

	public function test_the_right_application_password_is_not_reported() {
		$response = self::http( 'GET', '/?rest_route=/wp/v2/users/me', null, array( 'Authorization: Basic ' . base64_encode( getenv( 'WP_ENV_USER' ) . ':' . self::$app_password ) ) );
		$this->assertSame( 200, $response['status'] );
		$this->assertSame( array(), self::$capture->events() );
	}

	public function test_an_application_password_for_an_unknown_user_is_reported() {
		self::http( 'GET', '/?rest_route=/wp/v2/posts', null, array( 'Authorization: Basic ' . base64_encode( 'nobody-here:abcd efgh ijkl mnop qrst uvwx' ) ) );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'app_password_failed', $events[0]['type'] );
		$this->assertSame( 'nobody-here', $events[0]['username'] );
		$this->assertSame( 'invalid_username', $events[0]['error_code'] );
	}

	public function test_a_failure_of_another_rest_auth_scheme_is_reported_as_rest_auth_failed() {
		$response = self::http( 'GET', '/?rest_route=/wp/v2/posts', null, array( 'Authorization: Bearer stolen-or-guessed' ) );
		$this->assertSame( 401, $response['status'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'rest_auth_failed', $events[0]['type'] );
		$this->assertSame( 'test_token_invalid', $events[0]['error_code'] );
	}

	public function test_rest_requests_without_credentials_are_not_reported() {
		$response = self::http( 'GET', '/?rest_route=/wp/v2/posts' );
		$this->assertSame( 200, $response['status'] );
		$this->assertSame( array(), self::$capture->events() );
	}

	public function test_an_author_scan_is_reported_and_can_be_blocked() {
		$response = self::http( 'GET', '/?author=1' );
		$this->assertNotSame( 403, $response['status'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'user_enumeration', $events[0]['type'] );
		$this->assertSame( 'author_query', $events[0]['error_code'] );

		self::$capture->reset();
		$this->configure( array( 'block_user_enumeration' => true ) );
		$response = self::http( 'GET', '/?author=2' );
		$this->assertSame( 403, $response['status'] );
		$this->assertStringNotContainsString( getenv( 'WP_ENV_USER' ), $response['headers'] . $response['body'] );
		$this->assertCount( 1, self::$capture->events() );
	}

	public function test_the_rest_users_listing_is_reported_and_can_be_blocked() {
		$response = self::http( 'GET', '/?rest_route=/wp/v2/users' );
		$this->assertSame( 200, $response['status'] );
		$events = self::$capture->events();
		$this->assertCount( 1, $events );
		$this->assertSame( 'user_enumeration', $events[0]['type'] );
		$this->assertSame( 'rest_users', $events[0]['error_code'] );

		self::$capture->reset();
		$this->configure( array( 'block_user_enumeration' => true ) );
		$response = self::http( 'GET', '/?rest_route=/wp/v2/users/1' );
		$this->assertSame( 401, $response['status'] );
		$this->assertStringContainsString( 'rest_user_cannot_view', $response['body'] );
		$this->assertCount( 1, self::$capture->events() );
	}

	public function test_a_logged_in_user_listing_users_is_not_enumeration() {
		$response = self::http( 'GET', '/?rest_route=/wp/v2/users', null, array( 'Authorization: Basic ' . base64_encode( getenv( 'WP_ENV_USER' ) . ':' . self::$app_password ) ) );
		$this->assertSame( 200, $response['status'] );
		$this->assertSame( array(), self::$capture->events() );
	}
}
