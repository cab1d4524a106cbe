<?php
/**
 * A cheap static check for syntax and functions that PHP 7.4 does not have (the plugin
 * promises 7.4-8.3, and Debian 12 ships only PHP 8.2, whose `php -l` accepts them).
 * Token-based, so strings and comments never trigger it.
 *
 * CLI: php php-compat-check.php FILE...   (prints findings, exits 1 if any)
 */

/**
 * Findings for one piece of PHP code: "line N: what".
 *
 * @param string $code PHP source.
 * @return string[]
 */
function edgejail_php74_incompatibilities( $code ) {
	$raw    = token_get_all( $code );
	$tokens = array();
	foreach ( $raw as $token ) {
		if ( is_array( $token ) && in_array( $token[0], array( T_WHITESPACE, T_COMMENT, T_DOC_COMMENT ), true ) ) {
			continue;
		}
		$tokens[] = $token;
	}
	$findings   = array();
	$line       = 1;
	$count      = count( $tokens );
	$new_tokens = array(
		'T_MATCH'                    => 'match expression (PHP 8.0)',
		'T_NULLSAFE_OBJECT_OPERATOR' => 'nullsafe operator ?-> (PHP 8.0)',
		'T_ATTRIBUTE'                => 'attribute #[...] (PHP 8.0)',
		'T_ENUM'                     => 'enum (PHP 8.1)',
		'T_READONLY'                 => 'readonly (PHP 8.1)',
	);
	$php8_functions = array( 'str_contains', 'str_starts_with', 'str_ends_with', 'array_is_list', 'get_debug_type', 'fdiv', 'get_resource_id', 'preg_last_error_msg' );
	$text = function ( $i ) use ( &$tokens ) {
		return isset( $tokens[ $i ] ) ? ( is_array( $tokens[ $i ] ) ? $tokens[ $i ][1] : $tokens[ $i ] ) : '';
	};
	$id = function ( $i ) use ( &$tokens ) {
		return isset( $tokens[ $i ] ) && is_array( $tokens[ $i ] ) ? $tokens[ $i ][0] : null;
	};
	$closing = function ( $open ) use ( &$tokens, $count, $text ) {
		$depth = 0;
		for ( $j = $open; $j < $count; $j++ ) {
			$t = $text( $j );
			if ( '(' === $t || '[' === $t || '{' === $t || T_CURLY_OPEN === ( is_array( $tokens[ $j ] ) ? $tokens[ $j ][0] : null ) || T_DOLLAR_OPEN_CURLY_BRACES === ( is_array( $tokens[ $j ] ) ? $tokens[ $j ][0] : null ) ) {
				++$depth;
			} elseif ( ')' === $t || ']' === $t || '}' === $t ) {
				--$depth;
				if ( 0 === $depth ) {
					return $j;
				}
			}
		}
		return $count - 1;
	};

	for ( $i = 0; $i < $count; $i++ ) {
		if ( is_array( $tokens[ $i ] ) ) {
			$line = $tokens[ $i ][2];
		}
		$kind = $id( $i );
		foreach ( $new_tokens as $name => $what ) {
			if ( defined( $name ) && constant( $name ) === $kind ) {
				$findings[] = "line $line: $what";
			}
		}
		$t    = $text( $i );
		$prev = $text( $i - 1 );
		$next = $text( $i + 1 );

		if ( T_STRING === $kind && '(' === $next && in_array( strtolower( $t ), $php8_functions, true ) && ! in_array( $id( $i - 1 ), array( T_FUNCTION, T_OBJECT_OPERATOR, T_DOUBLE_COLON ), true ) ) {
			$findings[] = "line $line: $t() (PHP 8.0)";
		}
		// Named argument: "(name:" or ", name:" (a ternary's ":" follows "?", a case label follows "case").
		if ( ( T_STRING === $kind || ( is_array( $tokens[ $i ] ) && preg_match( '/^[A-Za-z_]\w*$/', $t ) ) ) && ':' === $next && ( '(' === $prev || ',' === $prev ) ) {
			$findings[] = "line $line: named argument $t: (PHP 8.0)";
		}
		if ( '(' === $t && T_ELLIPSIS === $id( $i + 1 ) && ')' === $text( $i + 2 ) ) {
			$findings[] = "line $line: first-class callable syntax (...) (PHP 8.1)";
		}
		if ( T_VARIABLE === $kind && T_DOUBLE_COLON === $id( $i + 1 ) && T_CLASS === $id( $i + 2 ) ) {
			$findings[] = "line $line: \$object::class (PHP 8.0)";
		}
		if ( T_CATCH === $kind && '(' === $next ) {
			$end        = $closing( $i + 1 );
			$has_var    = false;
			for ( $j = $i + 2; $j < $end; $j++ ) {
				$has_var = $has_var || T_VARIABLE === $id( $j );
			}
			if ( ! $has_var ) {
				$findings[] = "line $line: catch without a variable (PHP 8.0)";
			}
		}
		if ( T_FUNCTION === $kind || T_FN === $kind ) {
			$open = $i + 1;
			while ( $open < $count && '(' !== $text( $open ) ) {
				++$open;
			}
			$name  = strtolower( $text( $i + 1 ) );
			$end   = $closing( $open );
			$depth = 0;
			$in_default = false;
			for ( $j = $open + 1; $j < $end; $j++ ) {
				$u = $text( $j );
				if ( in_array( $u, array( '(', '[', '{' ), true ) ) {
					++$depth;
				} elseif ( in_array( $u, array( ')', ']', '}' ), true ) ) {
					--$depth;
				} elseif ( 0 === $depth && ',' === $u ) {
					$in_default = false;
					if ( ')' === $text( $j + 1 ) ) {
						$findings[] = "line $line: trailing comma in a parameter list (PHP 8.0)";
					}
				} elseif ( 0 === $depth && '=' === $u ) {
					$in_default = true;
				} elseif ( 0 === $depth && ! $in_default && '|' === $u ) {
					$findings[] = "line $line: union type (PHP 8.0)";
				} elseif ( 0 === $depth && '__construct' === $name && in_array( $id( $j ), array( T_PUBLIC, T_PROTECTED, T_PRIVATE ), true ) ) {
					$findings[] = "line $line: constructor property promotion (PHP 8.0)";
				}
			}
			$k = $end + 1;
			if ( T_USE === $id( $k ) && '(' === $text( $k + 1 ) ) {
				$use_end = $closing( $k + 1 );
				if ( ',' === $text( $use_end - 1 ) ) {
					$findings[] = "line $line: trailing comma in a closure's use list (PHP 8.0)";
				}
				$k = $use_end + 1;
			}
			if ( ':' === $text( $k ) ) {
				for ( $j = $k + 1; $j < $count && ! in_array( $text( $j ), array( '{', ';' ), true ) && T_DOUBLE_ARROW !== $id( $j ); $j++ ) {
					$type = strtolower( $text( $j ) );
					if ( '|' === $type ) {
						$findings[] = "line $line: union return type (PHP 8.0)";
					} elseif ( in_array( $type, array( 'static', 'mixed' ), true ) ) {
						$findings[] = "line $line: $type return type (PHP 8.0)";
					} elseif ( 'never' === $type ) {
						$findings[] = "line $line: never return type (PHP 8.1)";
					}
				}
			}
		}
	}
	return array_values( array_unique( $findings ) );
}

if ( PHP_SAPI === 'cli' && isset( $argv[0] ) && realpath( $argv[0] ) === __FILE__ ) {
	$failed = false;
	foreach ( array_slice( $argv, 1 ) as $file ) {
		foreach ( edgejail_php74_incompatibilities( file_get_contents( $file ) ) as $finding ) {
			echo "$file $finding\n";
			$failed = true;
		}
	}
	exit( $failed ? 1 : 0 );
}
