<?php
/**
 * The bounded local store of events the service could not take yet.
 *
 * @package EdgeJail
 */

defined( 'ABSPATH' ) || exit;

/**
 * A custom table, oldest rows first. Capped: under a long outage and a big attack the
 * oldest events are dropped (and counted) rather than letting the table grow forever.
 */
class EdgeJail_Spool {

	/**
	 * The table name for the current site.
	 *
	 * @return string
	 */
	public static function table() {
		global $wpdb;
		return $wpdb->prefix . 'edgejail_spool';
	}

	/**
	 * Creates or updates the table.
	 */
	public static function create_table() {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$table   = self::table();
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			"CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  event_id char(36) NOT NULL,
  payload text NOT NULL,
  queued_at bigint(20) unsigned NOT NULL,
  PRIMARY KEY  (id)
) {$charset};"
		);
	}

	/**
	 * Drops the table (uninstall).
	 */
	public static function drop_table() {
		global $wpdb;
		$wpdb->query( 'DROP TABLE IF EXISTS ' . self::table() ); // phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared -- table name only.
	}

	/**
	 * Appends events and enforces the cap.
	 *
	 * @param array $events Events.
	 * @param int   $cap    Most rows kept.
	 * @return int Events dropped to respect the cap (oldest first).
	 */
	public function push( array $events, $cap ) {
		global $wpdb;
		if ( empty( $events ) ) {
			return 0;
		}
		$table  = self::table();
		$now    = time();
		$rows   = array();
		$values = array();
		foreach ( $events as $event ) {
			$rows[]   = '(%s, %s, %d)';
			$values[] = $event['id'];
			$values[] = wp_json_encode( $event );
			$values[] = $now;
		}
		// phpcs:ignore WordPress.DB.PreparedSQL.NotPrepared, WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare -- placeholders built above.
		$wpdb->query( $wpdb->prepare( "INSERT INTO {$table} (event_id, payload, queued_at) VALUES " . implode( ', ', $rows ), $values ) );
		$excess = $this->count() - (int) $cap;
		if ( $excess <= 0 ) {
			return 0;
		}
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name only.
		return (int) $wpdb->query( $wpdb->prepare( "DELETE FROM {$table} ORDER BY id ASC LIMIT %d", $excess ) );
	}

	/**
	 * The oldest rows, as [row id => event].
	 *
	 * @param int $limit Most rows.
	 * @return array
	 */
	public function oldest( $limit ) {
		global $wpdb;
		$table = self::table();
		// phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name only.
		$rows   = $wpdb->get_results( $wpdb->prepare( "SELECT id, payload FROM {$table} ORDER BY id ASC LIMIT %d", $limit ) );
		$events = array();
		foreach ( (array) $rows as $row ) {
			$event = json_decode( $row->payload, true );
			if ( is_array( $event ) ) {
				$events[ (int) $row->id ] = $event;
			} else {
				$this->remove( array( (int) $row->id ) );
			}
		}
		return $events;
	}

	/**
	 * Deletes rows that were delivered (or dropped).
	 *
	 * @param int[] $ids Row ids.
	 */
	public function remove( array $ids ) {
		global $wpdb;
		$ids = array_map( 'intval', $ids );
		if ( empty( $ids ) ) {
			return;
		}
		$table = self::table();
		$wpdb->query( "DELETE FROM {$table} WHERE id IN (" . implode( ',', $ids ) . ')' ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- integers only.
	}

	/**
	 * Rows waiting.
	 *
	 * @return int
	 */
	public function count() {
		global $wpdb;
		$table = self::table();
		return (int) $wpdb->get_var( "SELECT COUNT(*) FROM {$table}" ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared -- table name only.
	}
}
