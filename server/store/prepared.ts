// A store's statements, each prepared the first time it is used. A prepared statement holds
// its compiled program in malloc's heap (~4 KB each: ~570 KB for the service's 133), and the
// dashboard's, the CLI's and the rarer sweeps' need not be resident until they run. An idle
// service prepares ~19 in its first seconds and took ~0.4 MB less (4 interleaved pairs,
// 2026-12-07). Anything that reads every statement (a listing of their SQL) prepares them all. A statement that does not compile
// fails on its first use instead of at start-up.
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
