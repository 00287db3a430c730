"""The OpenAPI 3.1 description of the sidecar, generated from the input layer's registrations.

Every operation declared with ``bridge.api.inputs.operation`` appears with the JSON Schemas of its
path, query, header and body (pydantic's JSON Schema 2020-12, which OpenAPI 3.1 uses as is), so the
limits the layer enforces are the limits documented. Also an offline HTML page listing the
operations (no CDN: sidecars often run without internet).
"""
from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema

from bridge.api.inputs import PROBLEM_MEDIA, Answer, Operation, operation, operations

bp = Blueprint("docs", __name__)

REF = "#/components/schemas/{model}"
_PROBLEM = {"description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_SOURCE = {"hmacSource": [], "hmacTimestamp": [], "hmacSignature": []}
_SECURITY = {"public": [], "source": [_SOURCE, {"admin": []}], "admin": [{"admin": []}],
             "console": [{"consoleSession": []}, {"admin": []}]}
_PROBLEM_SCHEMA = {"type": "object", "required": ["type", "title", "status"], "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"},
    "errors": {"type": "array", "items": {"type": "object", "required": ["field", "message"], "properties": {
        "field": {"type": "string", "description": "Dotted path of the field, e.g. completions[3].learner.email"},
        "message": {"type": "string"}}}}}}
_SIGNED = ("METHOD\\nPATH\\nTIMESTAMP\\nsha256_hex(body)[\\nNONCE] signed with HMAC-SHA256, key = "
           "sha256_hex(api_key); see docs/architecture.md")


def build_spec(app: Flask) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (cached on the app: registrations do not change after start)."""
    cached = app.extensions.get("edc_openapi")
    if cached is not None:
        return cached
    ops = sorted(operations(app), key=lambda item: (item[0], item[1].method))
    inputs = [((path, op.method, part), "validation", op.adapter(part))
              for path, op in ops for part in ("path", "query", "headers", "body") if getattr(op, part) is not None]
    inputs += [((path, op.method, f"answer{a.status}"), "serialization", TypeAdapter(a.schema))
               for path, op in ops for a in op.responses if a.schema is not None]
    mapping, defs = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=GenerateJsonSchema)
    components = dict(defs.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for path, op in ops:
        paths.setdefault(path, {})[op.method.lower()] = _operation(path, op, mapping, components)
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "EDC Bridge sidecar API", "version": "1",
                 "description": "Completions in, sealed European Digital Credentials (ELM v3, JAdES) out. "
                                "LMS sources sign requests with HMAC-SHA256 (X-EDC-Source, X-EDC-Timestamp, "
                                "X-EDC-Signature, optional X-EDC-Nonce; see docs/architecture.md); management "
                                "calls use the admin bearer token. Errors are RFC 9457 problems naming the field."},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "hmacSource": {"type": "apiKey", "in": "header", "name": "X-EDC-Source",
                               "description": "The registered source name"},
                "hmacTimestamp": {"type": "apiKey", "in": "header", "name": "X-EDC-Timestamp",
                                  "description": "Unix seconds (ASCII digits), within ±EDC_SIGNATURE_WINDOW (300 s)"},
                "hmacSignature": {"type": "apiKey", "in": "header", "name": "X-EDC-Signature",
                                  "description": f"v1=<64 hex digits>: {_SIGNED}. X-EDC-Nonce (optional, "
                                                 "16-64 of A-Z a-z 0-9 _ -) is then part of the signed message; "
                                                 "each signature is accepted once"},
                "admin": {"type": "http", "scheme": "bearer", "description": "EDC_ADMIN_TOKEN"},
                "consoleSession": {"type": "apiKey", "in": "cookie", "name": "edc_console",
                                   "description": "A staff console session (sign in at /console/login); writes "
                                                  "also need the X-CSRFToken header. Roles decide what answers "
                                                  "403 (docs/console.md)"},
            },
            "schemas": {**components, "Problem": _PROBLEM_SCHEMA},
        },
    }
    app.extensions["edc_openapi"] = spec
    return spec


def _operation(path: str, op: Operation, mapping: dict[Any, Any], components: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "operationId": f"{op.method.lower()}{_camel(path)}",
                           "security": _SECURITY[op.auth]}
    if op.description:
        out["description"] = op.description
    if op.tags:
        out["tags"] = list(op.tags)
    params = []
    for part, where in (("path", "path"), ("query", "query"), ("headers", "header")):
        if getattr(op, part) is None:
            continue
        schema = _resolve(mapping[((path, op.method, part), "validation")], components)
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            param = {"name": name, "in": where, "required": where == "path" or name in required, "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    if params:
        out["parameters"] = params
    if op.body is not None:
        body_schema = mapping[((path, op.method, "body"), "validation")]
        content = {}
        for media in op.body_media:
            if media == "multipart/form-data":
                content[media] = {"schema": {"type": "object", "required": ["file"],
                                             "properties": {"file": {"type": "string", "format": "binary"}}}}
            else:
                content[media] = {"schema": body_schema}
        out["requestBody"] = {"required": op.body_required, "content": content}
    responses: dict[str, Any] = {}
    for answer in op.responses:
        responses[str(answer.status)] = _answer(path, op, answer, mapping)
    if op.auth != "public":
        responses.setdefault("401", {**_PROBLEM, "description": "Not authenticated (same answer for an unknown "
                                                                "source and a wrong signature)"})
        responses.setdefault("403", {**_PROBLEM, "description": "Authenticated, not allowed"})
    responses["4XX"] = _PROBLEM
    out["responses"] = responses
    return out


def _answer(path: str, op: Operation, answer: Answer, mapping: dict[Any, Any]) -> dict[str, Any]:
    if answer.media == PROBLEM_MEDIA:
        out = {**_PROBLEM, "description": answer.description}
    else:
        schema = mapping.get(((path, op.method, f"answer{answer.status}"), "serialization"), {})
        out = {"description": answer.description, "content": {answer.media: {"schema": schema}}}
    if answer.headers:
        out["headers"] = {name: {"description": text, "schema": {"type": "string"}} for name, text in answer.headers}
    return out


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return components[ref.rsplit("/", 1)[-1]]
    return schema


def _camel(path: str) -> str:
    words = [w for w in path.replace("{", "").replace("}", "").replace(":", "/").replace("-", "/")
             .replace(".", "/").replace("_", "/").split("/") if w]
    return "".join(w[:1].upper() + w[1:] for w in words)


@operation(bp, "GET", "/openapi.json", auth="public", tags=("service",))
def openapi() -> Response:
    """This document (OpenAPI 3.1)."""
    return jsonify(build_spec(current_app))


@operation(bp, "GET", "/docs", auth="public", tags=("service",),
           responses=(Answer(200, "The operations, as an HTML page", "text/html"),))
def docs() -> Response:
    """Human-readable list of the operations; works offline."""
    spec = build_spec(current_app)
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            who = {"[]": "public", str(_SECURITY["admin"]): "admin",
                   str(_SECURITY["console"]): "console session or admin"}.get(str(op["security"]),
                                                                             "signed source or admin")
            rows.append(f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(op['summary'])}</td><td>{escape(who)}</td></tr>")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>EDC Bridge API</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}td{padding:.3em .6em;"
        "border-bottom:1px solid #ddd;vertical-align:top}</style></head><body>"
        f"<h1>{escape(spec['info']['title'])}</h1><p>{escape(spec['info']['description'])}</p>"
        "<p>Machine-readable, with every field's limits: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1).</p>"
        "<table><tr><th>method</th><th>path</th><th>what</th><th>who</th></tr>"
        f"{''.join(rows)}</table></body></html>"
    )
    return Response(page, mimetype="text/html")
