"""Course catalogue entries: a stored course template as a page view and as ELM JSON-LD.

Both come from the template as stored (the same one credentials are assembled from), so what the
catalogue says about a course is what its credentials say. ESCO skill labels come from the ESCO
service in the reader's language when it knows the skill, else from the template's own labels.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from flask import Response, request

from bridge.api.common import runtime
from bridge.db.models import CourseTemplate as TemplateRow
from bridge.elm import codelists, vocabularies
from bridge.elm.errors import ValidationFailed
from bridge.elm.learning_opportunity import learning_opportunity, opportunity_url, page_url
from bridge.elm.template import CourseTemplate
from bridge.recognition import SkillLabels

log = logging.getLogger(__name__)

JSONLD = "application/ld+json"


def skill_labels() -> SkillLabels | None:
    try:
        return runtime().context.services.esco.labels
    except Exception as exc:  # no ESCO snapshot: the template's labels are used
        log.warning("ESCO labels unavailable for the catalogue (%s)", type(exc).__name__)
        return None


def parse(row: TemplateRow) -> CourseTemplate | None:
    try:
        return CourseTemplate.from_dict(row.template)
    except ValidationFailed:
        # Stored templates were validated on PUT; one that no longer parses is left out, not a 500.
        log.warning("stored template %s/%s no longer validates; left out of the catalogue", row.source,
                    row.course_id)
        return None


def _text(value: dict[str, str] | None, lang: str) -> str | None:
    if not value:
        return None
    return value.get(lang) or value.get("en") or next(iter(value.values()))


def _label(uri: str | None, codes: codelists.CodeList, lang: str) -> str | None:
    """The concept's label in the reader's language (the code list's English one when untranslated)."""
    return (vocabularies.label(uri, lang) or codes.labels.get(uri)) if uri else None


def course_view(row: TemplateRow, lang: str) -> dict[str, Any] | None:
    """What the catalogue page shows of one course, in ``lang`` where the template has it."""
    template = parse(row)
    if template is None:
        return None
    base = runtime().settings.public_url
    labels = skill_labels()

    def skill(s: Any) -> dict[str, Any]:
        known = (labels(s.uri) if labels else None) or {}
        return {"uri": s.uri, "label": known.get(lang) or _text(s.labels, lang) or known.get("en") or s.uri}

    mode_uri = codelists.resolve(template.mode, codelists.MODE_CODES, codelists.modes()) if template.mode else None
    setting_uri = (codelists.resolve(template.learning_setting, codelists.LEARNING_SETTING_CODES,
                                     codelists.learning_settings()) if template.learning_setting else None)
    isced_uri = codelists.isced_f().by_code(template.isced_f) if template.isced_f else None
    return {
        "source": row.source,
        "course_id": row.course_id,
        "anchor": f"course-{row.source}-{row.course_id}".replace(" ", "-"),
        "title": _text(template.title, lang),
        "title_lang": lang if lang in template.title else next(iter(template.title)),
        "description": _text(template.description, lang),
        "outcomes": [{"text": _text(o.text, lang), "skills": [skill(s) for s in o.esco_skills]}
                     for o in template.learning_outcomes],
        "ects": template.ects,
        "eqf_level": template.eqf_level,
        "isced_f": {"code": template.isced_f, "label": _label(isced_uri, codelists.isced_f(), lang)}
        if template.isced_f else None,
        "languages": [language_name(code, lang) for code in template.languages],
        "mode": _label(mode_uri, codelists.modes(), lang),
        "mode_code": template.mode,
        "learning_setting": _label(setting_uri, codelists.learning_settings(), lang),
        "learning_setting_code": template.learning_setting,
        "volume_of_learning": template.volume_of_learning,
        "provider": _text(template.awarding_body.legal_name, lang),
        "provider_homepage": template.awarding_body.homepage,
        "jsonld_url": opportunity_url(base, row.source, row.course_id),
        "page_url": page_url(base, row.source, row.course_id),
        "partner": None,
        "recognition": [],
    }


def language_name(code: str, lang: str) -> str:
    return vocabularies.language_name(code, lang) or code


def opportunity_document(row: TemplateRow) -> dict[str, Any] | None:
    """The course's LearningOpportunity document, or None when its template no longer makes one."""
    template = parse(row)
    if template is None:
        return None
    try:
        return learning_opportunity(template, base_url=runtime().settings.public_url, source=row.source,
                                    course_id=row.course_id, modified=row.updated_at, skill_labels=skill_labels())
    except ValidationFailed:
        log.warning("course %s/%s has a skill without a label; left out of the catalogue", row.source,
                    row.course_id)
        return None


def public_linked_data(response: Response) -> Response:
    """Headers of public linked data: other institutions' pages and tools may fetch it from the browser
    (and read its validators), and caches must revalidate before reusing it."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link"
    response.cache_control.public = True
    response.cache_control.no_cache = True
    return response


def jsonld_response(row: TemplateRow) -> Response:
    """The course's LearningOpportunity document (the IRI its credentials link to), conditional on its ETag."""
    template = parse(row)
    if template is None:
        return Response(json.dumps({"error": "this course template is no longer valid"}), status=404,
                        mimetype="application/json")
    try:
        document = learning_opportunity(template, base_url=runtime().settings.public_url, source=row.source,
                                        course_id=row.course_id, modified=row.updated_at,
                                        skill_labels=skill_labels())
    except ValidationFailed as exc:
        return Response(json.dumps({"error": str(exc)}, ensure_ascii=False), status=409,
                        mimetype="application/json")
    body = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    response = Response(body, mimetype=JSONLD)
    response.set_etag(hashlib.sha256(body).hexdigest()[:40])
    response.last_modified = row.updated_at.replace(microsecond=0)
    public_linked_data(response)
    return response.make_conditional(request)
