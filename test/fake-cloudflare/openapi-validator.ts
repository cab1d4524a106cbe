// Checks the fake's answers against Cloudflare's own OpenAPI schema (shared/cloudflare/openapi.json.gz),
// so a field the fake invents, drops or mistypes shows up as a test failure.
// A small validator for the OpenAPI 3.0 subset that schema uses: $ref, type, properties, required,
// items, enum, anyOf/oneOf/allOf, nullable.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

type Schema = Record<string, unknown>;
interface ResponseObject { $ref?: string; content?: Record<string, { schema?: Schema }> }
interface OpenApi { paths: Record<string, Record<string, { responses?: Record<string, ResponseObject> }>>; components: { schemas: Record<string, Schema>; responses?: Record<string, ResponseObject> } }

/** Where the schema is: next to the repository (CI, this machine), or OPENAPI_GZ. */
export function findOpenApi(): string | null {
  const candidates = [
    process.env.CLOUDFLARE_OPENAPI_GZ,
    fileURLToPath(new URL('../../../shared/cloudflare/openapi.json.gz', import.meta.url)),
    '/work/shared/cloudflare/openapi.json.gz',
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return null;
}

export class OpenApiChecker {
  private readonly doc: OpenApi;
  private readonly templates: Array<{ template: string; regex: RegExp; literals: number }>;

  constructor(file: string) {
    this.doc = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as OpenApi;
    this.templates = Object.keys(this.doc.paths).map((template) => ({
      template,
      regex: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
      literals: template.split('/').filter((s) => s && !s.startsWith('{')).length,
    }));
  }

  /** Problems found in `body`, the answer to `method path` with `status`; [] when it conforms. */
  check(method: string, path: string, status: number, body: unknown): string[] {
    path = path.split('?')[0]!;
    const matches = this.templates.filter((t) => t.regex.test(path) && this.doc.paths[t.template]![method.toLowerCase()]);
    if (!matches.length) return [`no operation ${method} ${path} in the schema`];
    // The most specific template wins: /rules/lists/bulk_operations/{id} over /rules/lists/{list_id}/...
    matches.sort((a, b) => b.literals - a.literals);
    const op = this.doc.paths[matches[0]!.template]![method.toLowerCase()]!;
    const responses = op.responses ?? {};
    const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!declared) return [`${method} ${matches[0]!.template} documents no ${status} response`];
    // The rulesets operations name shared responses (#/components/responses/rulesets_Ruleset): without
    // following the $ref, every rulesets answer would pass unchecked.
    const response = this.resolveResponse(declared);
    if (!response) return [`unresolvable response $ref ${String(declared.$ref)}`];
    const schema = response.content?.['application/json']?.schema;
    if (!schema) return [];
    const problems: string[] = [];
    this.validate(schema, body, '$', problems, 0);
    return problems;
  }

  private resolveResponse(response: ResponseObject): ResponseObject | null {
    let r: ResponseObject | undefined = response;
    for (let i = 0; i < 10 && r && typeof r.$ref === 'string'; i++) r = this.doc.components.responses?.[r.$ref.replace('#/components/responses/', '')];
    return r ?? null;
  }

  private resolve(schema: Schema): Schema {
    let s = schema;
    for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
      const name = (s.$ref as string).replace('#/components/schemas/', '');
      const target = this.doc.components.schemas[name];
      if (!target) throw new Error(`unresolvable $ref ${String(s.$ref)}`);
      // Sibling keys next to a $ref (OpenAPI 3.1 style, used in this schema) add to the target.
      const { $ref: _ref, ...rest } = s;
      s = { ...target, ...rest };
    }
    return s;
  }

  private validate(raw: Schema, value: unknown, at: string, problems: string[], depth: number): void {
    if (depth > 40) return;
    const s = this.resolve(raw);
    if (value === null) {
      if (s.nullable === true || (Array.isArray(s.enum) && s.enum.includes(null))) return;
      if (s.type === undefined && !s.anyOf && !s.oneOf && !s.allOf) return;
      // A dry-run answer's `result: null` is one of the alternatives (rulesets_RulesetOrDryRun).
      if (!s.anyOf && !s.oneOf) {
        problems.push(`${at}: null where the schema does not allow it`);
        return;
      }
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = s[key] as Schema[] | undefined;
      if (!options) continue;
      const fits = options.some((o) => { const p: string[] = []; this.validate(o, value, at, p, depth + 1); return p.length === 0; });
      if (!fits) problems.push(`${at}: matches none of the ${key} alternatives (${JSON.stringify(value).slice(0, 120)})`);
    }
    for (const part of (s.allOf as Schema[] | undefined) ?? []) this.validate(part, value, at, problems, depth + 1);
    // Enums may hold objects (rulesets' `errors: {enum: [[]]}`): compare by value.
    if (Array.isArray(s.enum) && !s.enum.some((e) => e === value || (typeof e === 'object' && JSON.stringify(e) === JSON.stringify(value)))) {
      problems.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
    }
    const type = s.type as string | undefined;
    if (type && !hasType(value, type)) {
      problems.push(`${at}: expected ${type}, got ${Array.isArray(value) ? 'array' : typeof value}`);
      return;
    }
    if (typeof value === 'object' && !Array.isArray(value)) {
      const obj = value as Record<string, unknown>;
      for (const name of (s.required as string[] | undefined) ?? []) {
        if (!(name in obj)) problems.push(`${at}: missing required ${name}`);
      }
      const props = (s.properties ?? {}) as Record<string, Schema>;
      for (const [name, sub] of Object.entries(props)) {
        if (name in obj && obj[name] !== undefined) this.validate(sub, obj[name], `${at}.${name}`, problems, depth + 1);
      }
    }
    if (Array.isArray(value) && s.items) {
      value.forEach((v, i) => this.validate(s.items as Schema, v, `${at}[${i}]`, problems, depth + 1));
    }
  }
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object': return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'integer': return Number.isInteger(value);
    case 'number': return typeof value === 'number';
    case 'boolean': return typeof value === 'boolean';
    default: return true;
  }
}
