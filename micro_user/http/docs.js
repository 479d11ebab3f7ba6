// The API reference page: Swagger UI over this server's own OpenAPI document.
// Served from this server (the page's policy runs no inline script and nothing from outside).
"use strict";
window.addEventListener("load", function () {
  window.ui = window.SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    deepLinking: true,
    displayOperationId: true,
    docExpansion: "list",
    filter: true,
    // Never send the document to an outside validator.
    validatorUrl: null,
  });
});
