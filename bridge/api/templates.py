"""Course templates: what credential a course issues, and the policy deciding when and where."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import TypeAdapter
from sqlalchemy import select

from bridge.api.common import runtime
from bridge.api.inputs import Answer, operation, request_json, validate_document
from bridge.api.schemas import CoursePath, SourcePath, TemplatePut
from bridge.auth import Principal, require
from bridge.db.models import CourseTemplate, Source, utcnow
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks.policy import normal_policy

bp = Blueprint("templates", __name__, url_prefix="/api/v1/sources")

def template_dict(row: CourseTemplate) -> dict[str, Any]:
    return {"source": row.source, "course_id": row.course_id, "version": row.version,
            "template": row.template, "policy": row.policy,
            "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}


def _skills(template: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(field, uri, has labels in the template) for every ESCO skill of the outcomes."""
    found = []
    for i, outcome in enumerate(template.get("learning_outcomes") or []):
        skills = outcome.get("esco_skills") if isinstance(outcome, dict) else None
        for j, skill in enumerate(skills if isinstance(skills, list) else []):
            uri = skill.get("uri") if isinstance(skill, dict) else skill
            labelled = isinstance(skill, dict) and bool(skill.get("labels"))
            if isinstance(uri, str):
                found.append((f"learning_outcomes[{i}].esco_skills[{j}]", uri, labelled))
    return found


def esco_report(template: dict[str, Any]) -> dict[str, Any]:
    """Unknown and obsolete ESCO skills; an unknown skill is refused unless the template labels it,
    since the credential needs a prefLabel for every skill it names."""
    skills = _skills(template)
    if not skills:
        return {"unknown": [], "obsolete": []}
    check = runtime().context.services.esco.check([uri for _, uri, _ in skills])
    unknown = set(check.unknown)
    errors = [FieldProblem(field, "unknown ESCO skill: give its labels ({\"uri\": …, \"labels\": {…}}) "
                                  "or use a skill of the ESCO classification")
              for field, uri, labelled in skills if uri in unknown and not labelled]
    if errors:
        raise validation_problem(errors, "The course template names ESCO skills that are not known.")
    return {"unknown": list(check.unknown), "obsolete": list(check.obsolete)}


_TEMPLATE_PUT = TypeAdapter(TemplatePut)


def save_template(source: str, course_id: str, document: Any, body: TemplatePut | None = None
                  ) -> tuple[dict[str, Any], bool]:
    """Validate and store a course template (+ policy); the API and the staff console both save here.

    ``document`` is the JSON document as sent; ``body`` its validated form when the caller has it
    already. Returns the stored template (with the ESCO report) and whether the course was new; a
    422/404 :class:`Problem` names what is wrong. The version increases on each replacement.
    """
    if body is None:
        body = validate_document(_TEMPLATE_PUT, document)
    template = {k: v for k, v in document.items() if k not in ("policy", "esco")}
    policy = normal_policy(body.policy)
    esco = esco_report(template)
    rt = runtime()
    with rt.sessions() as session:
        if session.scalar(select(Source.id).where(Source.name == source)) is None:
            raise Problem(404, "Not Found", f"Source '{source}' is not registered "
                          "(edc-bridge sources add NAME).", kind="source-not-found")
        row = session.scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                          CourseTemplate.course_id == course_id))
        now = utcnow()
        created = row is None
        if row is None:
            row = CourseTemplate(source=source, course_id=course_id, template=template, policy=policy,
                                 version=1, created_at=now, updated_at=now)
            session.add(row)
        else:
            row.template, row.policy, row.version, row.updated_at = template, policy, row.version + 1, now
        session.commit()
        answer = template_dict(row)
    answer["esco"] = esco
    return answer, created


@operation(bp, "PUT", "/<source>/courses/<course_id>/template", auth="source", path=CoursePath,
           body=TemplatePut, responses=(Answer(200, "Replaced"), Answer(201, "Created")), tags=("templates",))
def put_template(principal: Principal, path: dict[str, str], body: TemplatePut) -> tuple[Response, int]:
    """Create or replace a course's template and policy; reports unknown/obsolete ESCO skills.

    The version increases on each replacement.
    """
    source, course_id = path["source"], path["course_id"]
    require(principal, source)
    answer, created = save_template(source, course_id, request_json(), body)
    return jsonify(answer), 201 if created else 200


@operation(bp, "GET", "/<source>/courses/<course_id>/template", auth="source", path=CoursePath,
           tags=("templates",))
def get_template(principal: Principal, path: dict[str, str]) -> Response:
    """Read a course template and its policy."""
    source, course_id = path["source"], path["course_id"]
    require(principal, source)
    with runtime().sessions() as session:
        row = session.scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                          CourseTemplate.course_id == course_id))
        if row is None:
            raise Problem(404, "Not Found", f"No template for course '{course_id}' of source '{source}'.",
                          kind="template-not-found")
        return jsonify(template_dict(row))


@operation(bp, "GET", "/<source>/courses", auth="source", path=SourcePath, tags=("templates",))
def list_courses(principal: Principal, path: dict[str, str]) -> Response:
    """List a source's courses that have a template."""
    source = path["source"]
    require(principal, source)
    with runtime().sessions() as session:
        rows = session.scalars(select(CourseTemplate).where(CourseTemplate.source == source)
                               .order_by(CourseTemplate.course_id)).all()
        items = [{"course_id": r.course_id, "version": r.version, "title": r.template.get("title"),
                  "policy": r.policy, "updated_at": r.updated_at.isoformat()} for r in rows]
    return jsonify({"source": source, "items": items, "total": len(items)})
