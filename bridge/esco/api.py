"""Flask blueprint ``esco_bp`` (mounted at /api/v1/esco): skill search and lookup for the LMS
plugins' skill pickers and for administrators.

The service is taken from ``current_app.extensions["esco"]`` when the app put one there (tests,
a custom snapshot), else :func:`bridge.esco.service.default_service`.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from bridge.esco.model import UUID_RE
from bridge.esco.service import EscoService, default_service

esco_bp = Blueprint("esco", __name__, url_prefix="/api/v1/esco")

PROBLEM_BASE = "https://edc-bridge.invalid/problems/"  # same base as bridge.problems


def _service() -> EscoService:
    service = current_app.extensions.get("esco")
    return service if isinstance(service, EscoService) else default_service()


def problem(status: int, title: str, detail: str, errors: list[tuple[str, str]] | None = None,
            slug: str = "invalid-request") -> Response:
    """RFC 9457 problem document, the sidecar's single error format."""
    body: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = [{"field": f, "message": m} for f, m in errors]
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _int_arg(name: str, default: int, errors: list[tuple[str, str]]) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        errors.append((name, "must be an integer"))
        return None


@esco_bp.get("/skills")
def search_skills() -> Response:
    """GET /skills?q=&lang=&limit=&skill_type=&reuse_level= -> ranked hits in ``lang``."""
    service = _service()
    errors: list[tuple[str, str]] = []
    limit = _int_arg("limit", 10, errors)
    q, lang = request.args.get("q"), request.args.get("lang") or "en"
    skill_type = request.args.get("skill_type") or None
    reuse_level = request.args.get("reuse_level") or None
    errors += service.validate_query(q, lang, limit if limit is not None else 10, skill_type, reuse_level)
    if errors:
        return problem(400, "Invalid search parameters", "One or more query parameters are invalid.",
                       errors)
    assert q is not None and limit is not None
    hits = service.search(q, lang=lang, limit=limit, skill_type=skill_type, reuse_level=reuse_level)
    return jsonify({"query": q, "lang": lang, "esco_version": service.esco_version,
                    "count": len(hits), "results": [h.to_dict() for h in hits]})


@esco_bp.get("/skills/<string:skill_id>")
def get_skill(skill_id: str) -> Response:
    """GET /skills/<uuid> -> the skill with all its languages (404 problem when unknown)."""
    if not UUID_RE.match(skill_id.lower()):
        return problem(400, "Invalid skill id", "The skill id must be an ESCO skill UUID.",
                       [("uuid", "must be a UUID such as 49de9958-2aa4-4eef-a89d-fe5d5bcd28c4")])
    service = _service()
    skill = service.get(skill_id)
    if skill is None:
        return problem(404, "Unknown ESCO skill", f"No ESCO skill with UUID {skill_id.lower()}.",
                       slug="not-found")
    return jsonify({**skill.to_dict(), "esco_version": service.esco_version})
