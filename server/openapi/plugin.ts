// GET /openapi.json and GET /docs (Swagger UI from the swagger-ui-dist package, served
// from node_modules: nothing is fetched from elsewhere at run time). Also records every
// route the app registers, so a test can demand an OpenAPI entry for each one. It must
// be registered before the routes it should see.
import { createReadStream, readFileSync } from 'node:fs';
import { projectPath } from '../paths.ts';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { buildOpenApiDocument } from './document.ts';

export interface RegisteredRoute {
  method: string;
  url: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every method + URL registered after the OpenAPI plugin (HEAD routes Fastify adds itself excluded). */
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

async function openApi(app: FastifyInstance): Promise<void> {
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue; // Fastify's own twin of each GET
      routes.push({ method, url: route.url });
    }
  });
  app.decorate('registeredRoutes', () => [...routes]);

  // Built on first request: by then every schema module is loaded, and a broken schema fails loudly in the tests.
  let document: string | undefined;
  app.get('/openapi.json', async (_request, reply) => {
    document ??= JSON.stringify(buildOpenApiDocument({ version: PACKAGE_VERSION }));
    return reply.type('application/json; charset=utf-8').header('access-control-allow-origin', '*').send(document);
  });

  const docsHeaders = { 'content-security-policy': DOCS_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
  app.get('/docs', async (_request, reply) => reply.headers(docsHeaders).type('text/html; charset=utf-8').send(DOCS_PAGE));
  app.get<{ Params: { file: string } }>('/docs/:file', async (request, reply) => {
    const file = DOCS_FILES[request.params.file];
    if (!file) return reply.code(404).send({ error: 'not_found', message: `no docs asset ${request.params.file}` });
    return reply.headers(docsHeaders).header('cache-control', 'public, max-age=3600').type(file.type).send(createReadStream(file.path));
  });
}

export const openApiPlugin = fp(openApi, { name: 'edgejail-openapi' });
