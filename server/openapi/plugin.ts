// GET /openapi.json: the document @fastify/swagger builds from the routes' own schemas
// (zod, through fastify-type-provider-zod); GET /docs: Swagger UI from the swagger-ui-dist
// package, served from node_modules under a strict CSP (nothing is fetched from elsewhere
// at run time). Also records every route the app registers, so a test can demand an entry
// for each one. It must be registered before the routes it should see.
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifySchema, type FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import { z } from 'zod';
import { SIGNATURE_HEADER, SITE_HEADER, TIMESTAMP_HEADER } from '../auth/site-signature.ts';
import { projectPath } from '../paths.ts';
import { nameComponents } from './components.ts';
import { answer, NO_AUTH } from './describe.ts';
import { headerName, transform, transformObject } from './transform.ts';

export interface RegisteredRoute {
  method: string;
  url: string;
  schema?: FastifySchema;
}

/** A route as registered (one or several methods), for the document's own instance. */
interface RouteDefinition {
  method: string | string[];
  url: string;
  schema?: FastifySchema;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every method + URL registered after the OpenAPI plugin (HEAD routes Fastify adds itself excluded), with its schema. */
    registeredRoutes: () => RegisteredRoute[];
  }
}

const require = createRequire(import.meta.url);
const SWAGGER_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const PACKAGE_VERSION = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;

const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // Swagger UI's React components set inline styles.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const DOCS_FILES: Record<string, { path: string; type: string }> = {
  'swagger-ui.css': { path: join(SWAGGER_DIR, 'swagger-ui.css'), type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { path: join(SWAGGER_DIR, 'swagger-ui-bundle.js'), type: 'text/javascript; charset=utf-8' },
  'init.js': { path: projectPath('server/openapi/assets/docs-init.js'), type: 'text/javascript; charset=utf-8' },
  'docs.css': { path: projectPath('server/openapi/assets/docs.css'), type: 'text/css; charset=utf-8' },
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>EdgeJail API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/docs/docs.css">
</head>
<body>
<header class="docs-bar"><strong>EdgeJail API</strong><a href="/openapi.json">openapi.json</a><a href="/dashboard">Dashboard</a></header>
<main id="swagger-ui"><noscript><p>The interactive reference needs JavaScript; the document itself is <a href="/openapi.json">/openapi.json</a>.</p></noscript></main>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;

const INFO = {
  title: 'EdgeJail',
  version: PACKAGE_VERSION,
  summary: 'Brute-force defence for WordPress behind Cloudflare',
  description:
    'Sites report failed logins as signed events (`/v1/events`); jails turn them into bans enforced at Cloudflare. The admin API manages bans and the allowlist with a bearer token. Durations are seconds or `90s`, `10m`, `1h`, `7d`, `2w`.',
  license: { name: 'GPL-2.0-or-later', identifier: 'GPL-2.0-or-later' },
};

const SECURITY_SCHEMES = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token' },
  siteId: { type: 'apiKey', in: 'header', name: headerName(SITE_HEADER), description: 'The site id' },
  siteTimestamp: { type: 'apiKey', in: 'header', name: headerName(TIMESTAMP_HEADER), description: 'Unix seconds; within 300 s of the service clock' },
  siteSignature: {
    type: 'apiKey',
    in: 'header',
    name: headerName(SIGNATURE_HEADER),
    description: '`sha256=` + lowercase hex HMAC-SHA256(site secret, timestamp + "." + raw body)',
  },
} as const;

/** Validation is the handlers' (see schemaController); a route's schema never refuses or reshapes anything. */
const acceptAsIs = () => (value: unknown) => ({ value });
const serialize = () => (data: unknown) => JSON.stringify(data);

/**
 * For Fastify's options (the app's, and the document's own instance). The routes' schemas are
 * their documentation: each handler parses its input with the same zod objects itself, after
 * authentication (a preHandler, which Fastify runs after schema validation), so an unsigned or
 * unauthenticated request is a 401 whatever its body, and every refusal keeps its code
 * (`invalid_payload`, `invalid_query`) and its message naming the field. Answers are plain
 * JSON.stringify, as without a schema. Given here rather than set later, Fastify never loads
 * its defaults (ajv with its formats, fast-json-stringify: some 100 modules).
 */
type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
// Typed after ajv's validate function; Fastify calls it as it calls setValidatorCompiler's.
type ValidatorCompiler = ReturnType<NonNullable<NonNullable<SchemaController['compilersFactory']>['buildValidator']>>;
export const schemaController: SchemaController = {
  compilersFactory: { buildValidator: () => acceptAsIs as unknown as ValidatorCompiler, buildSerializer: () => serialize },
};

/**
 * The document, from the routes' schemas. @fastify/swagger and what it brings (yaml,
 * json-schema-resolver: some 130 modules, ~0.3 MB of an idle service) load only once someone
 * reads the reference (and stay loaded after): they describe the same routes, with empty
 * handlers, on a Fastify instance of their own that is closed once the document is built.
 */
async function buildDocument(routes: RouteDefinition[]): Promise<string> {
  const { default: fastifySwagger } = await import('@fastify/swagger');
  const describer = Fastify({ logger: false, schemaController });
  try {
    nameComponents();
    await describer.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: INFO,
        tags: [
          { name: 'Webhook', description: 'Called by the WordPress plugin, signed with the site secret' },
          { name: 'Admin', description: 'Bearer token: EDGEJAIL_ADMIN_TOKEN, or the file admin-token in the data directory' },
          { name: 'Operations', description: 'No authentication' },
        ],
        components: { securitySchemes: SECURITY_SCHEMES },
      },
      transform,
      transformObject,
    });
    const unused = async () => null;
    for (const route of routes) describer.route({ method: route.method, url: route.url, ...(route.schema ? { schema: route.schema } : {}), handler: unused });
    await describer.ready();
    return JSON.stringify(describer.swagger());
  } finally {
    await describer.close();
  }
}

async function openApi(app: FastifyInstance): Promise<void> {
  const definitions: RouteDefinition[] = [];
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((method) => method !== 'HEAD'); // HEAD: Fastify's own twin of each GET
    if (methods.length) definitions.push({ method: methods.length === 1 ? methods[0]! : methods, url: route.url, schema: route.schema });
  });
  app.decorate('registeredRoutes', (): RegisteredRoute[] =>
    definitions.flatMap(({ method, url, schema }) => (Array.isArray(method) ? method : [method]).map((one) => ({ method: one, url, schema }))),
  );


  // Built on first request: by then every route is registered.
  let document: Promise<string> | undefined;
  app.get(
    '/openapi.json',
    {
      schema: {
        operationId: 'openapi',
        tags: ['Operations'],
        security: NO_AUTH,
        summary: 'This document',
        response: { 200: answer('OpenAPI 3.1', z.looseObject({ openapi: z.literal('3.1.0') })) },
      },
    },
    async (_request, reply) => {
      document ??= buildDocument(definitions).catch((error: unknown) => {
        document = undefined; // the next request tries again
        throw error;
      });
      const body = await document;
      return reply.type('application/json; charset=utf-8').header('access-control-allow-origin', '*').send(body);
    },
  );

  const docsHeaders = { 'content-security-policy': DOCS_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  app.get('/docs', async (_request, reply) => reply.headers(docsHeaders).type('text/html; charset=utf-8').send(DOCS_PAGE));
  app.get<{ Params: { file: string } }>('/docs/:file', async (request, reply) => {
    const file = DOCS_FILES[request.params.file];
    if (!file) return reply.code(404).send({ error: 'not_found', message: `no docs asset ${request.params.file}` });
    return reply.headers(docsHeaders).header('cache-control', 'public, max-age=3600').type(file.type).send(createReadStream(file.path));
  });
}

export const openApiPlugin = fp(openApi, { name: 'edgejail-openapi' });
