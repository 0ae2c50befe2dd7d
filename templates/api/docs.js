"use strict";
// Swagger UI over our OpenAPI description. Every file it loads is ours (drf-spectacular-sidecar); the
// online validator badge, which would call a third-party server, is off.
window.ui = SwaggerUIBundle(Object.assign({
  url: "{{ schema_url|escapejs }}",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null
}, {{ settings|safe }}));
