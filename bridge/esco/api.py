"""Flask blueprint ``esco_bp`` (mounted at /api/v1/esco): skill search and lookup for the LMS
plugins' skill pickers and for administrators.

The service is taken from ``current_app.extensions["esco"]`` when the app put one there (tests,
a custom snapshot), else :func:`bridge.esco.service.default_service`.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired

from flask import Blueprint, Response, current_app, jsonify
from pydantic import ConfigDict, Field, StringConstraints, with_config
from typing_extensions import TypedDict

from bridge.api.inputs import operation
from bridge.api.schemas import query_int
from bridge.elm import fields
from bridge.esco.model import REUSE_LEVELS, SKILL_TYPE_ALIASES, SKILL_TYPES, UUID_RE
from bridge.esco.service import MAX_LIMIT, MAX_QUERY_LENGTH, EscoService, default_service

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


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True))
class SearchQuery(TypedDict):
    q: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_QUERY_LENGTH,
                                        pattern=fields.TEXT_PATTERN), Field(description="Search text")]
    lang: NotRequired[Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z]{2}$"),
                                Field(description="Label language (default en)")]]
    limit: NotRequired[Annotated[query_int(1, MAX_LIMIT), Field(description="Most results (default 10)")]]
    skill_type: NotRequired[Literal[(*SKILL_TYPES, *SKILL_TYPE_ALIASES)]]  # type: ignore[valid-type]
    reuse_level: NotRequired[Literal[REUSE_LEVELS]]  # type: ignore[valid-type]


@with_config(ConfigDict(extra="forbid", hide_input_in_errors=True))
class SkillPath(TypedDict):
    skill_id: Annotated[str, StringConstraints(strict=True, pattern=r"^[0-9a-fA-F-]{36}$"),
                        Field(description="ESCO skill UUID")]


@operation(esco_bp, "GET", "/skills", auth="public", query=SearchQuery, tags=("esco",))
def search_skills(query: dict[str, Any]) -> Response:
    """Search ESCO skills (public): ranked hits in ``lang``.

    Preferred labels first, then alternative labels, then descriptions; the last word matches as a prefix.
    """
    service = _service()
    q, lang, limit = query["q"], query.get("lang", "en"), query.get("limit", 10)
    skill_type, reuse_level = query.get("skill_type"), query.get("reuse_level")
    errors = service.validate_query(q, lang, limit, skill_type, reuse_level)
    if errors:
        return problem(400, "Invalid search parameters", "One or more query parameters are invalid.",
                       errors)
    hits = service.search(q, lang=lang, limit=limit, skill_type=skill_type, reuse_level=reuse_level)
    return jsonify({"query": q, "lang": lang, "esco_version": service.esco_version,
                    "count": len(hits), "results": [h.to_dict() for h in hits]})


@operation(esco_bp, "GET", "/skills/<string:skill_id>", auth="public", path=SkillPath, tags=("esco",))
def get_skill(path: dict[str, str]) -> Response:
    """One ESCO skill with all its languages (public; 404 problem when unknown)."""
    skill_id = path["skill_id"]
    if not UUID_RE.match(skill_id.lower()):
        return problem(400, "Invalid skill id", "The skill id must be an ESCO skill UUID.",
                       [("skill_id", "must be a UUID such as 49de9958-2aa4-4eef-a89d-fe5d5bcd28c4")])
    service = _service()
    skill = service.get(skill_id)
    if skill is None:
        return problem(404, "Unknown ESCO skill", f"No ESCO skill with UUID {skill_id.lower()}.",
                       slug="not-found")
    return jsonify({**skill.to_dict(), "esco_version": service.esco_version})
