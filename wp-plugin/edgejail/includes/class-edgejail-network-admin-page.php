<?php
/**
 * Network Admin > Settings > EdgeJail: the settings every blog of a network starts from,
 * and the ones it may not change.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

require_once __DIR__ . '/class-edgejail-admin-page.php'; // Its field list and inputs.

/**
 * One form, saved through network/edit.php (the Settings API does not reach site options).
 * Each field has a "Lock" box: a locked field is the network's on every blog, and each
 * blog's page shows it read-only. The secret is write-only here too.
 */
class EdgeJail_Network_Admin_Page {

	const SLUG   = 'edgejail-network';
	const ACTION = 'edgejail_network_settings';

	/**
	 * Hooks.
	 */
	public function register_hooks() {
		add_action( 'network_admin_menu', array( $this, 'add_page' ) );
		add_action( 'network_admin_edit_' . self::ACTION, array( $this, 'handle_save' ) );
	}

	/**
	 * `network_admin_menu`.
	 */
	public function add_page() {
		add_submenu_page( 'settings.php', __( 'EdgeJail', 'edgejail' ), __( 'EdgeJail', 'edgejail' ), 'manage_network_options', self::SLUG, array( $this, 'render' ) );
	}

	/**
	 * The network's settings from a submitted form: values that differ from the defaults or
	 * are locked, and the locked fields. An empty secret keeps the stored one.
	 *
	 * @param array $input Submitted values (unslashed): values => field => value, locked => field[].
	 * @return array The site option's new value.
	 */
	public static function sanitize( array $input ) {
		$stored  = get_site_option( EdgeJail_Settings::NETWORK_OPTION, array() );
		$current = is_array( $stored ) && isset( $stored['values'] ) && is_array( $stored['values'] ) ? $stored['values'] : array();
		$values  = isset( $input['values'] ) && is_array( $input['values'] ) ? $input['values'] : array();
		$locks   = isset( $input['locked'] ) && is_array( $input['locked'] ) ? array_map( 'strval', $input['locked'] ) : array();
		$output  = array(
			'values' => array(),
			'locked' => array(),
		);
		foreach ( EdgeJail_Admin_Page::fields() as $fields ) {
			foreach ( $fields as $key => $field ) {
				$clean = EdgeJail_Admin_Page::clean_input( $key, $field, $values, EdgeJail_Settings::NETWORK_OPTION );
				if ( null === $clean && array_key_exists( $key, $current ) ) {
					$clean = $current[ $key ]; // The stored secret, or the last valid value.
				}
				$locked = in_array( $key, $locks, true );
				// A value equal to the default is left out, so a blog's own setting stays its own.
				if ( null !== $clean && ( $locked || EdgeJail_Settings::FIELDS[ $key ][0] !== $clean ) ) {
					$output['values'][ $key ] = $clean;
				}
				if ( $locked ) {
					$output['locked'][] = $key;
				}
			}
		}
		return $output;
	}

	/**
	 * `network_admin_edit_edgejail_network_settings`: saves the form (capability and nonce checked).
	 */
	public function handle_save() {
		if ( ! current_user_can( 'manage_network_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage EdgeJail for this network.', 'edgejail' ), 403 );
		}
		check_admin_referer( self::ACTION );
		$input = isset( $_POST['edgejail_network'] ) && is_array( $_POST['edgejail_network'] ) ? wp_unslash( $_POST['edgejail_network'] ) : array(); // phpcs:ignore WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- cleaned field by field in sanitize().
		update_site_option( EdgeJail_Settings::NETWORK_OPTION, self::sanitize( $input ) );
		$errors = get_settings_errors( EdgeJail_Settings::NETWORK_OPTION );
		// Every blog rereads its settings on its next request; this one, for the hello below.
		EdgeJail_Plugin::instance()->settings_changed();
		wp_safe_redirect( add_query_arg( array( 'page' => self::SLUG, 'updated' => $errors ? 'invalid' : 'true' ), network_admin_url( 'settings.php' ) ) );
		exit;
	}

	/**
	 * The page.
	 */
	public function render() {
		if ( ! current_user_can( 'manage_network_options' ) ) {
			wp_die( esc_html__( 'Sorry, you are not allowed to manage EdgeJail for this network.', 'edgejail' ), 403 );
		}
		$network = EdgeJail_Settings::network();
		echo '<div class="wrap"><h1>' . esc_html__( 'EdgeJail for the network', 'edgejail' ) . '</h1>';
		// phpcs:ignore WordPress.Security.NonceVerification.Recommended -- only picks the notice shown.
		$updated = isset( $_GET['updated'] ) ? sanitize_key( wp_unslash( $_GET['updated'] ) ) : '';
		if ( 'true' === $updated ) {
			echo '<div class="notice notice-success"><p>' . esc_html__( 'Network settings saved.', 'edgejail' ) . '</p></div>';
		} elseif ( 'invalid' === $updated ) {
			echo '<div class="notice notice-error"><p>' . esc_html__( 'Some values were not valid and were not saved.', 'edgejail' ) . '</p></div>';
		}
		echo '<p>' . esc_html__( 'Every blog of the network starts from these settings. A locked field is this value on every blog, and read-only on each blog\'s Settings > EdgeJail; an unlocked one is the blog\'s own once its administrator sets it. One site ID and secret for the network is enough: every event names the blog it came from.', 'edgejail' ) . '</p>';
		echo '<form method="post" action="' . esc_url( network_admin_url( 'edit.php?action=' . self::ACTION ) ) . '">';
		wp_nonce_field( self::ACTION );
		foreach ( EdgeJail_Admin_Page::fields() as $fields ) {
			echo '<table class="form-table" role="presentation"><tbody>';
			foreach ( $fields as $key => $field ) {
				$id       = 'edgejail_network_' . $key;
				$constant = defined( EdgeJail_Settings::constant_name( $key ) );
				$value    = array_key_exists( $key, $network['values'] ) ? $network['values'][ $key ] : EdgeJail_Settings::FIELDS[ $key ][0];
				if ( 'secret' === $field[1] ) {
					$value = array_key_exists( $key, $network['values'] ) && '' !== $value ? 'stored' : '';
				}
				echo '<tr><th scope="row"><label for="' . esc_attr( $id ) . '">' . esc_html( $field[0] ) . '</label></th><td>';
				EdgeJail_Admin_Page::render_input( $id, 'edgejail_network[values][' . $key . ']', $field[1], $value, $constant );
				printf(
					' <label class="edgejail-lock"><input type="checkbox" name="edgejail_network[locked][]" value="%s"%s%s /> %s</label>',
					esc_attr( $key ),
					checked( in_array( $key, $network['locked'], true ), true, false ),
					$constant ? ' disabled="disabled"' : '',
					esc_html__( 'Lock on every blog', 'edgejail' )
				); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- escaped above, checked() and a constant string.
				if ( $constant ) {
					/* translators: %s: constant name */
					echo '<p class="description"><strong>' . esc_html( sprintf( __( 'Set by %s in wp-config.php, on every blog.', 'edgejail' ), EdgeJail_Settings::constant_name( $key ) ) ) . '</strong></p>';
				}
				echo '<p class="description">' . esc_html( $field[2] ) . '</p></td></tr>';
			}
			echo '</tbody></table>';
		}
		submit_button( __( 'Save network settings', 'edgejail' ) );
		echo '</form></div>';
	}
}
