// A zod schema's safeParse without zod's garbage, for the one payload a flood sends.
//
// zod builds a result object and, for every field, a payload object with its own issues
// array: about 2.2 KB of garbage per event of a batch, 44% of all the service allocated at
// saturated batch-50 ingest (sampling heap profile, 2026-12-07), and the young-generation
// collections that follow. Here the containers (strict objects, arrays, discriminated
// unions) are walked in place, and everything under them is handed to zod's own parsers
// and checks through one reused payload, so the rules are zod's and nothing is allocated
// while the input is valid. The schema stays the one definition of the contract.
//
// The walk only says "valid" or "not sure": anything else (an issue, a shape it does not
// know, a parser that answers with a new payload or a promise) goes to zod's safeParse,
// which then gives the answer and the message. A valid input is returned as the parsed
// value itself, with the defaults and rewrites zod's leaves produced written into it; so
// the input must be the caller's own (a body it parsed), not shared.
import type { z } from 'zod';

type Schema = z.core.$ZodType;
/** Validates `value` in place; `holder[key]` receives what zod's leaf made of it (a default). */
type Walk = (value: unknown, holder: Record<string, unknown> | unknown[], key: string | number) => boolean;

const CTX = Object.freeze({ async: false }) as unknown as z.core.ParseContext<z.core.$ZodIssue>;

/** Types whose zod parser only looks at the payload it is given, and its checks. */
const BASE_TYPES = new Set(['string', 'number', 'boolean', 'enum', 'literal', 'null']);

type Check = z.core.$ZodCheck<unknown>;

/** zod's runChecks for a payload that passed its type: every check whose `when` holds, in order. */
function passesChecks(checks: readonly Check[], payload: z.core.ParsePayload): boolean {
  for (let i = 0; i < checks.length; i++) {
    const check = checks[i]!._zod;
    if (check.def.when && !check.def.when(payload)) continue;
    if ((check.check(payload) as unknown) !== undefined || payload.issues.length > 0) return false;
  }
  return true;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One value: zod's parser for its type, then its checks, as zod's runChecks runs them but
 * with an index loop (zod's own allocated ~870 bytes an event); the optional, nullable
 * and default wrappers are unwrapped here, as zod's do.
 */
function compileLeaf(schema: Schema, payload: z.core.ParsePayload): Walk | null {
  const def = schema._zod.def as { type: string; innerType?: Schema; defaultValue?: unknown; checks?: Check[] };
  if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default') {
    const inner = compileLeaf(def.innerType!, payload);
    if (!inner) return null;
    if (def.type === 'nullable') return (value, holder, key) => value === null || inner(value, holder, key);
    // An optional whose inner type has a default substitutes it: zod's parser does that in a payload of its own.
    if (def.type === 'optional') return def.innerType!._zod.optin === 'defaulted' ? null : (value, holder, key) => value === undefined || inner(value, holder, key);
    // A default object or array would be shared between requests: zod clones those.
    const fallback = def.defaultValue;
    if (typeof fallback === 'object' && fallback !== null) return null;
    return (value, holder, key) => {
      if (value !== undefined) return inner(value, holder, key);
      (holder as Record<string | number, unknown>)[key] = fallback;
      return true;
    };
  }
  if (!BASE_TYPES.has(def.type)) return null;
  // A string format (z.uuid()) is its own first check.
  const checks = [...(schema._zod.traits.has('$ZodCheck') ? [schema as unknown as Check] : []), ...(def.checks ?? [])];
  return (value, holder, key) => {
    payload.value = value;
    if (schema._zod.parse(payload, CTX) !== payload || payload.issues.length > 0 || !passesChecks(checks, payload)) return false;
    // An overwrite check (trim, toLowerCase) rewrote it.
    if (payload.value !== value) (holder as Record<string | number, unknown>)[key] = payload.value;
    return true;
  };
}

function compileNode(schema: Schema, payload: z.core.ParsePayload): Walk | null {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string; checks?: Check[] };
  // Checks on a container (a refine of the whole object, an array's length) run once its parts are valid.
  const checks = def.checks ?? [];
  const containerPasses = (value: unknown): boolean => {
    payload.value = value;
    return passesChecks(checks, payload);
  };

  const leaf = compileLeaf(schema, payload);
  if (leaf) return leaf;

  if (def.type === 'object') {
    // Only strict objects: zod strips the unknown keys of the others from its output.
    const catchall = def.catchall as Schema | undefined;
    if (catchall?._zod.def.type !== 'never') return null;
    const shape = def.shape as Record<string, Schema>;
    const keys = Object.keys(shape);
    const walks: Walk[] = [];
    for (const key of keys) {
      const walk = compileNode(shape[key]!, payload);
      if (!walk) return null;
      walks.push(walk);
    }
    const known = new Set(keys);
    return (value) => {
      if (!isPlainObject(value)) return false;
      for (const key in value) if (!known.has(key)) return false;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (!walks[i]!(value[key], value, key)) return false;
      }
      return containerPasses(value);
    };
  }

  if (def.type === 'array') {
    const element = compileNode(def.element as Schema, payload);
    if (!element) return null;
    return (value) => {
      if (!Array.isArray(value)) return false;
      for (let i = 0; i < value.length; i++) if (!element(value[i], value, i)) return false;
      return containerPasses(value);
    };
  }

  if (def.type === 'union' && typeof def.discriminator === 'string') {
    const discriminator = def.discriminator;
    const byTag = new Map<unknown, Walk>();
    for (const option of def.options as Schema[]) {
      const tag = ((option._zod.def as { shape?: Record<string, Schema> }).shape ?? {})[discriminator];
      const values = tag?._zod.values;
      const walk = compileNode(option, payload);
      if (!values || !walk) return null;
      for (const v of values) if (!byTag.has(v)) byTag.set(v, walk);
    }
    return (value, holder, key) => {
      if (!isPlainObject(value)) return false;
      const walk = byTag.get(value[discriminator]);
      return walk !== undefined && walk(value, holder, key) && containerPasses(value);
    };
  }

  return null;
}

/**
 * `schema.safeParse`, answered without allocating for a valid input. Null when the schema
 * has a part this walk does not know: then `safeParse` is used as it is.
 */
export function compileSafeParse<S extends z.ZodType>(schema: S): ((input: unknown) => z.ZodSafeParseResult<z.output<S>>) | null {
  const payload: z.core.ParsePayload = { value: undefined, issues: [] };
  const walk = compileNode(schema, payload);
  if (!walk) return null;
  const holder: unknown[] = [];
  return (input) => {
    holder[0] = input;
    const valid = walk(input, holder, 0);
    const data = holder[0];
    holder[0] = payload.value = undefined; // nothing of a request outlives its parse here
    if (valid) return { success: true, data: data as z.output<S> };
    payload.issues.length = 0;
    return schema.safeParse(input);
  };
}

/** compileSafeParse where it applies, the schema's own safeParse where it does not. */
export function fastSafeParse<S extends z.ZodType>(schema: S): (input: unknown) => z.ZodSafeParseResult<z.output<S>> {
  return compileSafeParse(schema) ?? ((input) => schema.safeParse(input));
}
