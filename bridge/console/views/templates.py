"""Course templates: list, view (ESCO skills with labels), history with who changed what, diff
between versions, edit (validated exactly like the API), and previews of what a template produces."""
from __future__ import annotations

import difflib
import json
from typing import Any

from flask import Response, redirect, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from bridge import audit
from bridge.api.common import runtime
from bridge.api.inputs import parse_json
from bridge.api.templates import etag, save_template
from bridge.console import previews
from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import TEMPLATES_EDIT, TEMPLATES_READ
from bridge.console.web import console_blueprint, db, identity, language, render, require_course, requires
from bridge.db.models import CourseTemplate, TemplateRevision
from bridge.problems import FieldProblem, Problem, validation_problem

bp = console_blueprint("console_templates", __name__)
register_section(Section("templates", N_("Course templates"), "console_templates.index", TEMPLATES_READ, 30))


@bp.errorhandler(NotFound)
def _missing(_: Any) -> Response:
    return render("not_found.html", 404)


def _text(value: Any, lang: str) -> str:
    if isinstance(value, dict) and value:
        return str(value.get(lang) or value.get("en") or next(iter(value.values())))
    return ""


@bp.get("/templates")
@requires(TEMPLATES_READ)
def index() -> Response:
    who = identity()
    query = select(CourseTemplate).order_by(CourseTemplate.source, CourseTemplate.course_id)
    scope = who.course_filter(TEMPLATES_READ, CourseTemplate.source, CourseTemplate.course_id)
    if scope is not None:
        query = query.where(scope)
    lang = language()
    rows = [{"row": r, "title": _text(r.template.get("title"), lang)} for r in db().scalars(query)]
    return render("templates.html", rows=rows)


def _template(source: str, course_id: str, permission: str = TEMPLATES_READ) -> CourseTemplate:
    require_course(permission, source, course_id)
    row = db().scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                   CourseTemplate.course_id == course_id))
    if row is None:
        raise NotFound()
    return row


def _revisions(source: str, course_id: str) -> list[TemplateRevision]:
    return list(db().scalars(select(TemplateRevision).where(TemplateRevision.source == source,
                                                            TemplateRevision.course_id == course_id)
                             .order_by(TemplateRevision.version.desc(), TemplateRevision.id.desc())))


def _skills(template: dict[str, Any], lang: str) -> list[dict[str, Any]]:
    labels = runtime().context.services.esco.labels
    outcomes = []
    for outcome in template.get("learning_outcomes") or []:
        skills = []
        for skill in outcome.get("esco_skills") or []:
            uri = skill.get("uri") if isinstance(skill, dict) else skill
            own = skill.get("labels") if isinstance(skill, dict) else None
            known = labels(uri) or {}
            skills.append({"uri": uri, "label": known.get(lang) or _text(own, lang) or known.get("en") or uri,
                           "known": bool(known)})
        outcomes.append({"text": _text(outcome.get("text"), lang), "skills": skills})
    return outcomes


@bp.get("/templates/<source>/<path:course_id>")
@requires(TEMPLATES_READ)
def view(source: str, course_id: str, status: int = 200, **context: Any) -> Response:
    row = _template(source, course_id)
    lang = language()
    return render("template.html", status, row=row, title=_text(row.template.get("title"), lang),
                  outcomes=_skills(row.template, lang), revisions=_revisions(source, course_id),
                  can_edit=identity().can(TEMPLATES_EDIT, (source, course_id)),
                  etag=context.pop("etag", None) or etag(row),
                  body=context.pop("body", None) or json.dumps({**row.template, "policy": row.policy},
                                                               ensure_ascii=False, indent=2), **context)


@bp.get("/template-diff/<source>/<path:course_id>")
@requires(TEMPLATES_READ)
def diff(source: str, course_id: str) -> Response:
    row = _template(source, course_id)
    revisions = {r.version: r for r in reversed(_revisions(source, course_id))}
    versions = sorted(revisions)

    def version(name: str, default: int) -> int:
        raw = request.args.get(name, "")
        return int(raw) if raw.isdigit() and int(raw) in revisions else default

    new = version("to", versions[-1] if versions else row.version)
    old = version("from", max((v for v in versions if v < new), default=new))
    lines: list[tuple[str, str]] = []
    if revisions:
        before, after = (_pretty(revisions[old]) if old in revisions else [],
                         _pretty(revisions[new]) if new in revisions else [])
        for line in difflib.unified_diff(before, after, f"v{old}", f"v{new}", n=3, lineterm=""):
            kind = "add" if line.startswith("+") and not line.startswith("+++") else \
                "del" if line.startswith("-") and not line.startswith("---") else \
                "hunk" if line.startswith("@@") else "same"
            lines.append((kind, line))
    return render("template_diff.html", row=row, versions=versions, old=old, new=new, lines=lines,
                  revisions=revisions)


def _pretty(revision: TemplateRevision) -> list[str]:
    return json.dumps({**revision.template, "policy": revision.policy}, ensure_ascii=False, indent=2,
                      sort_keys=True).splitlines()


@bp.post("/templates/<source>/<path:course_id>")
@requires(TEMPLATES_EDIT)
def save(source: str, course_id: str) -> Response:
    row = _template(source, course_id, TEMPLATES_EDIT)
    before = row.version
    body = request.form.get("template") or ""
    db().rollback()
    try:
        document = parse_json(body.encode("utf-8"))  # as strict as the API: duplicate keys, NaN... refused
        if not isinstance(document, dict):
            raise validation_problem([FieldProblem("", "the template must be a JSON object")])
        answer = save_template(source, course_id, document, if_match=request.form.get("etag") or None).answer
    except Problem as problem:
        errors = [(e.field, e.message) for e in problem.errors] or [("", problem.detail or problem.title)]
        audit.record(runtime().sessions, "template.save", target_type="template", target_id=f"{source}/{course_id}",
                     outcome="refused", detail={"errors": len(errors)})
        return view(source, course_id, 412 if problem.status == 412 else 422, body=body, errors=errors,
                    etag=request.form.get("etag"))
    audit.record(runtime().sessions, "template.save", target_type="template", target_id=f"{source}/{course_id}",
                 detail={"version_before": before, "version": answer["version"]})
    return redirect(url_for("console_templates.view", source=source, course_id=course_id,  # type: ignore[return-value]
                            saved=answer["version"]))


@bp.get("/template-preview/<source>/<path:course_id>")
@requires(TEMPLATES_READ)
def preview(source: str, course_id: str) -> Response:
    row = _template(source, course_id)
    lang = request.args.get("in") if request.args.get("in") in ("en", "fr") else language()
    services = runtime().context.services
    try:
        document = previews.credential(services, row.template, source, course_id, lang)
    except (previews.ValidationFailed, ValueError) as exc:
        return render("template_preview.html", 422, row=row, error=str(exc), preview_lang=lang)
    mail = previews.mail(services, document, lang)
    if request.args.get("part") == "email-html":
        response = Response(mail["html"], mimetype="text/html")
        response.headers["Content-Security-Policy"] = ("default-src 'none'; style-src 'unsafe-inline'; "
                                                       "img-src data:; sandbox")
        return response
    return render("template_preview.html", row=row, preview_lang=lang, mail=mail,
                  credential=json.dumps(document, ensure_ascii=False, indent=2),
                  learner_page=previews.learner_page(db(), services.settings.public_url, source, course_id))
