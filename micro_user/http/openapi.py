"""The OpenAPI document and the docs page, both derived from the endpoint registry."""

from __future__ import annotations

import base64
import hashlib
import html
from http import HTTPStatus
from typing import Any

from micro_user import __version__
from micro_user.http.endpoints import registry

ERROR_SCHEMA = {
    "type": "object",
    "required": ["id", "code", "detail", "status"],
    "properties": {
        "id": {
            "type": "string",
            "description": "Stable error id: the endpoint or check that failed",
        },
        "code": {"type": "integer", "description": "Equal to the HTTP status"},
        "detail": {"type": "string", "description": "What went wrong and what to fix"},
        "status": {"type": "string", "description": "The HTTP status text"},
    },
    "additionalProperties": False,
}
COMMON_ERRORS = (401, 413, 503)
# The docs page's only style; the Content-Security-Policy allows it by its hash and
# nothing else (the page has no script, so it works offline and no CDN can change it).
DOCS_STYLE = "body{font-family:sans-serif;max-width:52rem;margin:2rem auto}section{border-top:1px solid #ddd}"
DOCS_STYLE_HASH = (
    "sha256-" + base64.b64encode(hashlib.sha256(DOCS_STYLE.encode()).digest()).decode()
)
REF = "#/components/schemas/{model}"


def _schema(model: Any, components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(by_alias=False, ref_template=REF)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _error(code: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(code).phrase,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for endpoint in sorted(registry, key=lambda e: e.path):
        responses: dict[str, Any] = {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": _schema(endpoint.response, components)}},
            }
        }
        for code in sorted({*endpoint.errors, *COMMON_ERRORS}):
            responses[str(code)] = _error(code)
        paths[endpoint.path] = {
            "post": {
                "operationId": f"{endpoint.service}.{endpoint.name}",
                "summary": endpoint.summary,
                "tags": [endpoint.service],
                "description": (
                    "Field names may also be sent in lowerCamel form; int64 values travel as strings."
                ),
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {"schema": _schema(endpoint.request, components)}
                    },
                },
                "responses": responses,
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "micro-user",
            "version": __version__,
            "description": "User and access service, wire-compatible with the Micro user API.",
        },
        "servers": [{"url": "http://localhost:8080"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (muk_...)",
                }
            },
        },
    }


def docs_page(document: dict[str, Any]) -> str:
    """A self-contained page (no scripts, no CDN) listing every endpoint and its fields."""
    schemas = document["components"]["schemas"]
    sections = []
    for path, item in document["paths"].items():
        op = item["post"]
        request = schemas[
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        ]
        fields = "".join(
            f"<li><code>{html.escape(name)}</code> {html.escape(str(prop.get('type', 'object')))}</li>"
            for name, prop in request.get("properties", {}).items()
        )
        codes = ", ".join(code for code in op["responses"] if code != "200")
        sections.append(
            f"<section><h2><code>POST {html.escape(path)}</code></h2><p>{html.escape(op['summary'])}</p>"
            f"<ul>{fields or '<li>no fields</li>'}</ul><p>Errors: {codes}</p></section>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>micro-user API</title>"
        f"<style>{DOCS_STYLE}</style></head><body>"
        "<h1>micro-user API</h1><p>Send <code>Authorization: Bearer &lt;api key&gt;</code> and a JSON body. "
        "Errors are <code>{id, code, detail, status}</code>. The machine-readable description is "
        "<a href='/openapi.json'>/openapi.json</a>.</p>" + "".join(sections) + "</body></html>"
    )
