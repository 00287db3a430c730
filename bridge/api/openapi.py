"""The OpenAPI 3 description of the v1 API, written by hand next to the contract it documents,
and an offline HTML docs page rendered from it (no CDN: sidecars often run without internet)."""
from __future__ import annotations

from html import escape
from typing import Any

from flask import Blueprint, Response, jsonify

bp = Blueprint("docs", __name__)

_PROBLEM = {"description": "Problem details (RFC 9457)",
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
_AUTH = [{"hmac": []}, {"admin": []}]
_ADMIN = [{"admin": []}]


def _op(summary: str, *, security: list[dict[str, list[str]]] | None = None, body: str | None = None,
        ok: tuple[str, str] = ("200", "OK"), params: list[dict[str, Any]] | None = None,
        media: str = "application/json") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {ok[0]: {"description": ok[1],
                                                                    "content": {media: {}}},
                                                            "4XX": _PROBLEM}}
    if security is not None:
        op["security"] = security
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {
                                 "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = params
    return op


def _path(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": kind}}


SOURCE, COURSE, CRED = (_path("source", "LMS source name"), _path("course_id", "Course id in the LMS"),
                        _path("id", "Credential id (UUID)"))

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "EDC Bridge sidecar API", "version": "1",
             "description": "Completions in, sealed European Digital Credentials (ELM v3, JAdES) out. "
                            "LMS sources sign requests with HMAC-SHA256 (see docs/architecture.md); "
                            "management calls use the admin bearer token. Errors are RFC 9457 problems."},
    "paths": {
        "/api/v1/sources/{source}/courses/{course_id}/template": {
            "put": _op("Create or replace a course template and its policy; reports unknown/obsolete ESCO "
                       "skills", security=_AUTH, body="TemplatePut", ok=("200", "Replaced (201: created)"),
                       params=[SOURCE, COURSE]),
            "get": _op("Read a course template", security=_AUTH, params=[SOURCE, COURSE]),
        },
        "/api/v1/sources/{source}/courses": {"get": _op("List a source's courses with templates",
                                                        security=_AUTH, params=[SOURCE])},
        "/api/v1/completions": {"post": _op("Submit one completion; idempotent per (source, course, learner)",
                                            security=_AUTH, body="Completion", ok=("202", "Accepted"))},
        "/api/v1/completions:batch": {"post": _op("Submit up to 50,000 completions; all valid or none stored",
                                                  security=_AUTH, body="Batch", ok=("202", "Accepted"))},
        "/api/v1/batches/{id}": {"get": _op("Progress of a batch", security=_AUTH,
                                            params=[_path("id", "Batch id")])},
        "/api/v1/credentials": {"get": _op("List credentials (newest first)", security=_AUTH, params=[
            _query("source", "Source name"), _query("course_id", "Course id"),
            _query("learner_id", "Learner id in the LMS"), _query("status", "Credential status"),
            _query("batch_id", "Batch id"), _query("page", "Page, from 1", "integer"),
            _query("per_page", "Items per page, at most 200", "integer")])},
        "/api/v1/credentials/{id}": {"get": _op("Credential status with each delivery channel",
                                                security=_AUTH, params=[CRED])},
        "/api/v1/credentials/{id}/sealed": {"get": _op("The sealed credential (JAdES, JSON-LD payload)",
                                                       security=_AUTH, params=[CRED],
                                                       media="application/ld+json")},
        "/api/v1/credentials/{id}:resend": {"post": _op("Deliver again (optional body {channels: [...]})",
                                                        security=_ADMIN, params=[CRED],
                                                        ok=("202", "Accepted"))},
        "/api/v1/credentials/{id}:revoke": {"post": _op("Mark revoked (kept, never deleted); optional body "
                                                        "{reason}", security=_ADMIN, params=[CRED])},
        "/api/v1/esco/skills": {"get": _op("Search ESCO skills", params=[
            _query("q", "Search text"), _query("lang", "Label language"),
            _query("limit", "Most results", "integer"), _query("skill_type", "skill | knowledge"),
            _query("reuse_level", "ESCO reuse level")])},
        "/api/v1/esco/skills/{uuid}": {"get": _op("One ESCO skill",
                                                  params=[_path("uuid", "ESCO skill UUID")])},
        "/api/v1/verify": {"post": _op("Verify a sealed credential (raw body or multipart field 'file'): seal, "
                                       "trust and conformance report; public", security=[])},
        "/healthz": {"get": _op("Database, broker and eSeal reachability (503 when one is not)",
                                security=[])},
        "/metrics": {"get": _op("Prometheus metrics", security=[], media="text/plain")},
        "/openapi.json": {"get": _op("This document", security=[])},
        "/docs": {"get": _op("Human-readable list of the operations", security=[], media="text/html")},
    },
    "components": {
        "securitySchemes": {
            "hmac": {"type": "apiKey", "in": "header", "name": "X-EDC-Signature",
                     "description": "v1=hex(HMAC-SHA256(key=sha256_hex(api_key), METHOD\\nPATH\\nTIMESTAMP\\n"
                                    "sha256_hex(body)[\\nNONCE])) with X-EDC-Source, X-EDC-Timestamp (±300 s) "
                                    "and optionally X-EDC-Nonce (16-64 of A-Z a-z 0-9 _ -, then part of the "
                                    "signed message); each signature is accepted once"},
            "admin": {"type": "http", "scheme": "bearer", "description": "EDC_ADMIN_TOKEN"},
        },
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "field": {"type": "string"}, "message": {"type": "string"}}}}}},
            "Policy": {"type": "object", "properties": {
                "issue_when": {"type": "string", "enum": ["passed", "completed"], "default": "passed"},
                "min_grade": {"type": "number", "minimum": 0, "maximum": 100,
                              "description": "Percentage of grade.max"},
                "channels": {"type": "array", "items": {"type": "string", "enum": ["email", "wallet"]},
                             "default": ["email"]}}},
            "TemplatePut": {"type": "object", "description": "A course template (docs/architecture.md) plus "
                            "an optional policy",
                            "properties": {"policy": {"$ref": "#/components/schemas/Policy"}},
                            "additionalProperties": True},
            "Completion": {"type": "object", "required": ["source", "course_id", "learner", "passed",
                                                          "completed_at"], "properties": {
                "source": {"type": "string"}, "course_id": {"type": "string"},
                "learner": {"type": "object", "required": ["id", "given_name", "family_name", "email"],
                            "properties": {"id": {"type": "string"}, "given_name": {"type": "string"},
                                           "family_name": {"type": "string"}, "email": {"type": "string"},
                                           "language": {"type": "string"},
                                           "date_of_birth": {"type": "string", "format": "date"}}},
                "grade": {"type": "object", "properties": {"score": {"type": "number"},
                                                          "max": {"type": "number"},
                                                          "text": {"type": "string"},
                                                          "language": {"type": "string", "description":
                                                                       "BCP 47 tag of text, e.g. fr"}}},
                "passed": {"type": "boolean"}, "completed_at": {"type": "string", "format": "date-time"}}},
            "Batch": {"type": "object", "required": ["completions"], "properties": {
                "completions": {"type": "array", "maxItems": 50000,
                                "items": {"$ref": "#/components/schemas/Completion"}}}},
        },
    },
    "security": _AUTH,
}


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(SPEC)


@bp.get("/docs")
def docs() -> Response:
    """A plain server-rendered listing of the operations; works offline."""
    rows = []
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            rows.append(f"<tr><td><code>{escape(method.upper())}</code></td><td><code>{escape(path)}</code></td>"
                        f"<td>{escape(op['summary'])}</td></tr>")
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>EDC Bridge API</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td{padding:.3em .6em;"
        "border-bottom:1px solid #ddd;vertical-align:top}</style></head><body>"
        f"<h1>{escape(SPEC['info']['title'])}</h1><p>{escape(SPEC['info']['description'])}</p>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a> (OpenAPI 3).</p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
    return Response(page, mimetype="text/html")
