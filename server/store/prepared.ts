// A store's statements, each prepared the first time it is used. A prepared statement holds
// its compiled program in malloc's heap (~4 KB each: ~570 KB for the service's 133), and the
// dashboard's, the CLI's and the rarer sweeps' need not be resident until they run. An idle
// service prepares ~19 in its first seconds and took ~0.4 MB less (4 interleaved pairs,
// 2026-12-07). A statement that does not compile fails on its first use instead of at start-up.
export function preparedOnFirstUse<T extends Record<string, () => unknown>>(makers: T): { readonly [K in keyof T]: ReturnType<T[K]> } {
  const statements = {} as { [K in keyof T]: ReturnType<T[K]> };
  for (const name of Object.keys(makers) as (keyof T & string)[]) {
    Object.defineProperty(statements, name, {
      configurable: true,
      enumerable: true,
      get() {
        const statement = makers[name]!() as ReturnType<T[typeof name]>;
        // From then on a plain property: the hot path reads it without a call.
        Object.defineProperty(statements, name, { value: statement, enumerable: true });
        return statement;
      },
    });
  }
  return statements;
}

/**
 * Each named statement's SQL, so a test can check the query plans of the hot ones. It reads,
 * so prepares, every statement: a store offers it as a getter, never at its creation.
 */
export function statementSources<S extends Record<string, { source: string }>>(statements: S): Record<keyof S, string> {
  return Object.fromEntries(Object.entries(statements).map(([name, statement]) => [name, statement.source])) as Record<keyof S, string>;
}
