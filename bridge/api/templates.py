"""Course templates: what credential a course issues, and the policy deciding when and where."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import select

from bridge.api.common import authenticate, json_object, runtime
from bridge.auth import require
from bridge.db.models import CourseTemplate, Source, utcnow
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks.policy import validate_policy

bp = Blueprint("templates", __name__, url_prefix="/api/v1/sources")

MAX_COURSE_ID = 255


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


def _validate(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from bridge.elm.errors import ValidationFailed
    from bridge.elm.template import CourseTemplate as TemplateModel

    template = {k: v for k, v in body.items() if k != "policy"}
    policy, errors = validate_policy(body.get("policy"))
    try:
        TemplateModel.from_dict(template)
    except ValidationFailed as exc:
        errors = [FieldProblem(e.field, e.message) for e in exc.errors] + errors
    if errors:
        raise validation_problem(errors, "The course template has invalid fields.")
    return template, policy


def _check_course_id(course_id: str) -> None:
    if len(course_id) > MAX_COURSE_ID or not course_id.strip():
        raise validation_problem([FieldProblem("course_id", f"must be 1 to {MAX_COURSE_ID} characters")])


@bp.put("/<source>/courses/<course_id>/template")
def put_template(source: str, course_id: str) -> tuple[Response, int]:
    """Create or replace a course's template; the version increases on each replacement."""
    require(authenticate(), source)
    _check_course_id(course_id)
    template, policy = _validate(json_object())
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
    return jsonify(answer), 201 if created else 200


@bp.get("/<source>/courses/<course_id>/template")
def get_template(source: str, course_id: str) -> Response:
    require(authenticate(), source)
    with runtime().sessions() as session:
        row = session.scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                          CourseTemplate.course_id == course_id))
        if row is None:
            raise Problem(404, "Not Found", f"No template for course '{course_id}' of source '{source}'.",
                          kind="template-not-found")
        return jsonify(template_dict(row))


@bp.get("/<source>/courses")
def list_courses(source: str) -> Response:
    require(authenticate(), source)
    with runtime().sessions() as session:
        rows = session.scalars(select(CourseTemplate).where(CourseTemplate.source == source)
                               .order_by(CourseTemplate.course_id)).all()
        items = [{"course_id": r.course_id, "version": r.version, "title": r.template.get("title"),
                  "policy": r.policy, "updated_at": r.updated_at.isoformat()} for r in rows]
    return jsonify({"source": source, "items": items, "total": len(items)})
