// Starts Swagger UI on our own document. validatorUrl: null keeps it from asking an
// online validator about the document: the docs page fetches nothing from elsewhere.
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  persistAuthorization: false,
  tryItOutEnabled: false,
});
