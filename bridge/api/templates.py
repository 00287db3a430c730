"""Course templates: what credential a course issues, and the policy deciding when and where."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify
from pydantic import TypeAdapter
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from bridge import audit
from bridge.api.common import runtime
from bridge.api.inputs import PROBLEM_MEDIA, Answer, operation, request_json, validate_document
from bridge.api.schemas import CoursePath, SourcePath, TemplateHeaders, TemplatePut
from bridge.auth import Principal, require
from bridge.db.models import CourseTemplate, Source, TemplateRevision, utcnow
from bridge.elm.template import content_digest
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks.policy import normal_policy

bp = Blueprint("templates", __name__, url_prefix="/api/v1/sources")
_ETAG = (("ETag", "The stored content's tag, for If-Match"),)

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
SAVE_ATTEMPTS = 5


def etag(row: CourseTemplate) -> str:
    """The strong ETag of a stored template: its version and the digest of its content (template and
    policy), so a template deleted and created again never answers to an old tag."""
    return f'"{row.version}-{content_digest(row.template, row.policy)[:32]}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def check_preconditions(row: CourseTemplate | None, if_match: str | None, if_none_match: str | None) -> None:
    """RFC 9110 §13.2.2 for a PUT: ``If-Match`` first (strong comparison: a weak tag never matches),
    then ``If-None-Match`` (``*`` = create only). A failed precondition is a 412 naming the current
    version and ETag, so the client can read the template again and redo its change."""
    current = etag(row) if row is not None else None
    failed = None
    if if_match is not None:
        tags = _tags(if_match)
        if current is None:
            failed = "the course has no template yet, so If-Match cannot match"
        elif "*" not in tags and current not in tags:
            failed = f"the template changed since it was read (it is now version {row.version})"  # type: ignore[union-attr]
    elif if_none_match is not None and current is not None:
        tags = _tags(if_none_match)
        if "*" in tags:
            failed = "the course already has a template (If-None-Match: *)"
        elif current in tags or current in [t.removeprefix("W/") for t in tags]:
            failed = "the template still has the ETag given in If-None-Match"
    if failed is not None:
        extra: dict[str, Any] = {"current_version": None, "current_etag": None}
        headers = {}
        if row is not None:
            extra = {"current_version": row.version, "current_etag": current}
            headers["ETag"] = current or ""
        raise Problem(412, "Precondition Failed", f"Not saved: {failed}. Read it again (GET) and send your "
                      "change with If-Match set to its ETag.", kind="template-precondition-failed",
                      headers=headers, **extra)


@dataclass(frozen=True)
class Saved:
    """What a template PUT led to: the stored template, its ETag, and created / changed / unchanged."""

    answer: dict[str, Any]
    etag: str
    status: int
    changed: bool


def save_template(source: str, course_id: str, document: Any, body: TemplatePut | None = None, *,
                  if_match: str | None = None, if_none_match: str | None = None) -> Saved:
    """Validate and store a course template (+ policy); the API and the staff console both save here.

    ``document`` is the JSON document as sent; ``body`` its validated form when the caller has it
    already. A 422/404 :class:`Problem` names what is wrong; a 412 when ``if_match`` /
    ``if_none_match`` (the request's preconditions) do not hold; a 409 when another request created
    the course's template with a different content at the same moment.

    Writers are serialised per course by a row lock (``SELECT … FOR UPDATE``) and, on databases without
    one, by the version compare-and-set of the mapper (``version_id_col``): versions are strictly
    increasing and never reused, and the unique (source, course, version) of the revisions is the
    database's own guarantee. A template equal in content (template and policy) to the stored one
    changes nothing: the same version and ETag are answered (200), so adapters that resend their
    template on every run do not create versions.
    """
    if body is None:
        body = validate_document(_TEMPLATE_PUT, document)
    template = {k: v for k, v in document.items() if k not in ("policy", "esco")}
    policy = normal_policy(body.policy)
    esco = esco_report(template)
    rt = runtime()
    for _ in range(SAVE_ATTEMPTS):
        with rt.sessions() as session:
            if session.scalar(select(Source.id).where(Source.name == source)) is None:
                raise Problem(404, "Not Found", f"Source '{source}' is not registered "
                              "(edc-bridge sources add NAME).", kind="source-not-found")
            row = session.scalar(select(CourseTemplate).where(
                CourseTemplate.source == source, CourseTemplate.course_id == course_id).with_for_update())
            check_preconditions(row, if_match, if_none_match)
            now = utcnow()
            if row is None:
                row = CourseTemplate(source=source, course_id=course_id, template=template, policy=policy,
                                     version=1, created_at=now, updated_at=now)
                session.add(row)
                status = 201
            elif row.template == template and row.policy == policy:
                return _saved(row, esco, 200, changed=False)
            else:
                # Past every version ever recorded (a database written before versions were unique may
                # hold revisions above the stored version).
                recorded = session.scalar(select(func.max(TemplateRevision.version)).where(
                    TemplateRevision.source == source, TemplateRevision.course_id == course_id)) or 0
                row.template, row.policy, row.updated_at = template, policy, now
                row.version = max(row.version, recorded) + 1
                status = 200
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                if status == 201:
                    _lost_create(session, source, course_id, template, policy, if_none_match)
                continue  # a revision with this version was written meanwhile: read again
            except StaleDataError:
                session.rollback()
                continue  # another writer stored a version first (databases without row locks)
            return _saved(row, esco, status, changed=True)
    raise Problem(409, "Conflict", "The template is being changed by other requests at this very moment; "
                  "send it again.", kind="template-conflict", headers={"Retry-After": "1"})


def _lost_create(session: Any, source: str, course_id: str, template: dict[str, Any], policy: dict[str, Any],
                 if_none_match: str | None) -> None:
    """Another request created the course's template while this one did: the same content is that
    request's success too (answered by the caller's next round); different content is a 409 (or the
    412 that ``If-None-Match: *`` asks for)."""
    row = session.scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                      CourseTemplate.course_id == course_id))
    if row is None or (row.template == template and row.policy == policy and if_none_match is None):
        return
    check_preconditions(row, None, if_none_match)
    raise Problem(409, "Conflict", f"Another request created this course's template (version {row.version}) "
                  "at the same moment, with a different content. Read it (GET) and send your change with "
                  "If-Match set to its ETag.", kind="template-conflict", headers={"ETag": etag(row)},
                  current_version=row.version, current_etag=etag(row))


def _saved(row: CourseTemplate, esco: dict[str, Any], status: int, *, changed: bool) -> Saved:
    answer = template_dict(row)
    answer["esco"] = esco
    return Saved(answer, etag(row), status, changed)


@operation(bp, "PUT", "/<source>/courses/<course_id>/template", auth="source", path=CoursePath,
           headers=TemplateHeaders, body=TemplatePut,
           responses=(Answer(200, "Replaced, or unchanged (same content: same version and ETag)", headers=_ETAG),
                      Answer(201, "Created", headers=_ETAG),
                      Answer(409, "Another request created the template at the same moment with a different "
                             "content", PROBLEM_MEDIA),
                      Answer(412, "If-Match / If-None-Match did not hold (the answer names the current ETag)",
                             PROBLEM_MEDIA)),
           tags=("templates",))
def put_template(principal: Principal, path: dict[str, str], headers: dict[str, str],
                 body: TemplatePut) -> tuple[Response, int, dict[str, str]]:
    """Create or replace a course's template and policy; reports unknown/obsolete ESCO skills.

    Optimistic concurrency: the answer's ``ETag`` names the stored content; send it back in
    ``If-Match`` to replace only what you read (412 otherwise), or ``If-None-Match: *`` to create
    only. The version increases by one on each change and never goes back; a template equal in
    content to the stored one is answered 200 with the same version and ETag (no new version).
    """
    source, course_id = path["source"], path["course_id"]
    require(principal, source)
    target = f"{source}/{course_id}"
    try:
        saved = save_template(source, course_id, request_json(), body, if_match=headers.get("if_match"),
                              if_none_match=headers.get("if_none_match"))
    except Problem as problem:
        audit.record(runtime().sessions, "template.save", target_type="template", target_id=target,
                     outcome="refused", detail={"status": problem.status, "errors": len(problem.errors) or 1},
                     actor=audit.api_actor(principal))
        raise
    audit.record(runtime().sessions, "template.save", target_type="template", target_id=target,
                 detail={"version": saved.answer["version"], "created": saved.status == 201,
                         "changed": saved.changed}, actor=audit.api_actor(principal))
    return jsonify(saved.answer), saved.status, {"ETag": saved.etag}


@operation(bp, "GET", "/<source>/courses/<course_id>/template", auth="source", path=CoursePath,
           tags=("templates",), responses=(Answer(200, "The template, its policy and version", headers=_ETAG),))
def get_template(principal: Principal, path: dict[str, str]) -> tuple[Response, int, dict[str, str]]:
    """Read a course template and its policy; the ``ETag`` answered is what ``If-Match`` takes."""
    source, course_id = path["source"], path["course_id"]
    require(principal, source)
    with runtime().sessions() as session:
        row = session.scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                          CourseTemplate.course_id == course_id))
        if row is None:
            raise Problem(404, "Not Found", f"No template for course '{course_id}' of source '{source}'.",
                          kind="template-not-found")
        return jsonify(template_dict(row)), 200, {"ETag": etag(row)}


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
