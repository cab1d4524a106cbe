<?php
/**
 * Every plugin file parses, and none uses syntax PHP 7.4 lacks.
 */
class LintTest extends PHPUnit\Framework\TestCase {

	public static function setUpBeforeClass(): void {
		require_once dirname( __DIR__ ) . '/support/php-compat-check.php';
	}

	private static function plugin_files() {
		$dir   = dirname( __DIR__, 3 ) . '/wp-plugin/edgejail';
		$files = array();
		foreach ( new RecursiveIteratorIterator( new RecursiveDirectoryIterator( $dir, FilesystemIterator::SKIP_DOTS ) ) as $file ) {
			if ( 'php' === $file->getExtension() ) {
				$files[] = $file->getPathname();
			}
		}
		sort( $files );
		return $files;
	}

	public function test_php_lint_passes_on_every_plugin_file() {
		$files = self::plugin_files();
		$this->assertGreaterThan( 15, count( $files ) );
		foreach ( $files as $file ) {
			// proc_open into a file, not exec() or a pipe: php-wasm's exec() reports every exit
			// code as 1, and its pipes may never say EOF.
			$out  = tempnam( sys_get_temp_dir(), 'edgejail-lint-' );
			$lint = proc_open( array( PHP_BINARY, '-l', $file ), array( 1 => array( 'file', $out, 'w' ), 2 => array( 'file', $out, 'a' ) ), $pipes );
			$code = proc_close( $lint );
			$said = (string) file_get_contents( $out );
			unlink( $out );
			$this->assertSame( 0, $code, $said );
		}
	}

	public function test_no_plugin_file_uses_syntax_or_functions_php_74_lacks() {
		$findings = array();
		foreach ( self::plugin_files() as $file ) {
			foreach ( edgejail_php74_incompatibilities( file_get_contents( $file ) ) as $finding ) {
				$findings[] = basename( $file ) . ' ' . $finding;
			}
		}
		$this->assertSame( array(), $findings );
	}

	public function test_every_plugin_file_refuses_direct_access() {
		foreach ( self::plugin_files() as $file ) {
			$code = file_get_contents( $file );
			$this->assertMatchesRegularExpression( "/defined\\( '(ABSPATH|WP_UNINSTALL_PLUGIN)' \\) \\|\\| exit;/", $code, basename( $file ) );
		}
	}

	/**
	 * @dataProvider php8_only_snippets
	 */
	public function test_the_compat_check_catches_php8_only_code( $snippet, $expected ) {
		if ( PHP_VERSION_ID < 80000 ) {
			$this->markTestSkipped( 'PHP 7 tokenizes PHP 8 syntax differently; on PHP 7 the php -l test above is the real check' );
		}
		$findings = edgejail_php74_incompatibilities( "<?php\n" . $snippet );
		$this->assertNotEmpty( $findings, $snippet );
		$this->assertStringContainsString( $expected, implode( '; ', $findings ) );
	}

	public function php8_only_snippets() {
		return array(
			array( '$a = match ( $x ) { 1 => 2, default => 3 };', 'match' ),
			array( '$a = $user?->name;', 'nullsafe' ),
			array( 'foo( name: 1 );', 'named argument' ),
			array( 'foo( 1, strict: true );', 'named argument' ),
			array( 'function f( int|string $x ) {}', 'union type' ),
			array( 'function f(): int|false { return 1; }', 'union return type' ),
			array( 'function f(): static { return $this; }', 'static return type' ),
			array( 'function f(): mixed { return 1; }', 'mixed return type' ),
			array( 'class A { public function __construct( private $x ) {} }', 'promotion' ),
			array( 'if ( str_contains( $a, "b" ) ) {}', 'str_contains' ),
			array( 'if ( str_starts_with( $a, "b" ) ) {}', 'str_starts_with' ),
			array( '#[Attribute] class A {}', 'attribute' ),
			array( 'try { f(); } catch ( Exception ) {}', 'catch without a variable' ),
			array( 'function f( $a, $b, ) {}', 'trailing comma' ),
			array( '$f = strlen( ... );', 'first-class callable' ),
			array( 'echo $object::class;', '::class' ),
			array( 'enum Suit { case Hearts; }', 'enum' ),
		);
	}

	public function test_the_compat_check_accepts_php74_code() {
		$code = <<<'PHP'
<?php
$a = $x ? FOO : BAR;
foo( $x ? A : B, $y ?: C );
switch ( $a ) { case FOO: break; default: break; }
if ( $a ): echo 1; else: echo 2; endif;
$f = fn( int $x ): int => $x * 2;
$g = function ( $a ) use ( $b ) { return $a->match( 1 ); };
class A { public ?int $x = null; public function __construct( $x = A | B ) {} public static function make(): self { return new self(); } }
echo "match( str_contains( named: 1 ) )"; // str_contains( in a comment
$list = array( 1, 2, );
PHP;
		$this->assertSame( array(), edgejail_php74_incompatibilities( $code ) );
	}
}
