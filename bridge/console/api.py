"""The console's JSON API under ``/console/api``: what the pages show and do, for scripts and for
progressive enhancement. Same sign-in (session cookie + ``X-CSRFToken`` on writes, or the admin
bearer token), same roles and course scopes, same audit entries as the pages."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select

from bridge.api.common import runtime
from bridge.api.credentials import credential_status
from bridge.api.templates import template_dict
from bridge.console import health, operations, queries
from bridge.console.roles import (
    AUDIT_READ,
    BATCHES_READ,
    CREDENTIALS_ACT,
    CREDENTIALS_READ,
    CREDENTIALS_REVOKE,
    DASHBOARD,
    SETTINGS_READ,
    SOURCES_READ,
    TEMPLATES_READ,
    USERS_MANAGE,
)
from bridge.console.views.sources import overview
from bridge.console.web import console_api_blueprint, db, identity, require_course, requires
from bridge.db.models import AuditEntry, CourseTemplate, Credential, StaffUser, TemplateRevision
from bridge.problems import FieldProblem, Problem, validation_problem

bp = console_api_blueprint("console_api", __name__)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _answer(outcome: operations.Outcome, cred_id: str) -> tuple[Response, int]:
    if not outcome.ok:
        if outcome.status == 422:
            raise validation_problem([FieldProblem("reason", outcome.message)])
        raise Problem(outcome.status, "Conflict" if outcome.status == 409 else "Not Found", outcome.message)
    with runtime().sessions() as session:
        cred = session.get(Credential, cred_id)
        return jsonify({**credential_status(cred), **(outcome.detail or {})}), outcome.status  # type: ignore[arg-type]


@bp.get("/me")
def me() -> Response:
    who = identity()
    return jsonify({"username": who.username, "name": who.display_name, "kind": who.kind,
                    "roles": [{"role": g.role, "source": g.source, "course_id": g.course_id} for g in who.grants],
                    "permissions": sorted(who.scopes)})


@bp.get("/dashboard")
@requires(DASHBOARD)
def dashboard() -> Response:
    who = identity()
    figures = queries.dashboard(db(), who)
    if who.can(SETTINGS_READ):
        checks, days = health.checks(runtime().context.services)
        figures["health"] = [vars(c) for c in checks]
        figures["seal_days_left"] = days
    return jsonify(figures)


def _filter() -> queries.CredentialFilter:
    try:
        return queries.CredentialFilter.from_args(request.args)
    except queries.BadFilter as exc:
        raise Problem(400, "Bad Request", "A search filter is invalid.", kind="invalid-parameter",
                      errors=[FieldProblem(exc.field, exc.message)]) from None


@bp.get("/credentials")
@requires(CREDENTIALS_READ)
def credentials() -> Response:
    raw = request.args.get("page", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 100000 else 1
    rows, total = queries.search(db(), identity(), _filter(), page)
    return jsonify({"items": [{**credential_status(c), "learner": queries.learner(c)} for c in rows],
                    "total": total, "page": page, "per_page": queries.PER_PAGE})


def _credential(cred_id: str, permission: str) -> Credential:
    cred = db().get(Credential, cred_id) if len(cred_id) <= 36 else None
    if cred is None:
        raise Problem(404, "Not Found", "No credential with this id.", kind="credential-not-found")
    require_course(permission, cred.source, cred.course_id)
    return cred


@bp.get("/credentials/<cred_id>")
@requires(CREDENTIALS_READ)
def credential(cred_id: str) -> Response:
    cred = _credential(cred_id, CREDENTIALS_READ)
    events = [{"at": _iso(e.at), "kind": e.kind, "title": e.title, "detail": e.detail, "outcome": e.outcome,
               "actor": e.actor} for e in queries.timeline(db(), cred)]
    return jsonify({**credential_status(cred), "learner": queries.learner(cred), "timeline": events})


@bp.post("/credentials/<cred_id>:resend")
@requires(CREDENTIALS_ACT)
def resend(cred_id: str) -> tuple[Response, int]:
    _credential(cred_id, CREDENTIALS_ACT)
    db().rollback()
    return _answer(operations.resend(cred_id), cred_id)


@bp.post("/credentials/<cred_id>:revoke")
@requires(CREDENTIALS_REVOKE)
def revoke(cred_id: str) -> tuple[Response, int]:
    _credential(cred_id, CREDENTIALS_REVOKE)
    db().rollback()
    body = request.get_json(silent=True) or {}
    reason = body.get("reason") if isinstance(body, dict) else None
    if not isinstance(reason, str):
        raise validation_problem([FieldProblem("reason", "a reason is required (text)")])
    return _answer(operations.revoke(cred_id, reason, body.get("notify", True) is not False), cred_id)


@bp.post("/credentials/<cred_id>:reissue")
@requires(CREDENTIALS_ACT)
def reissue(cred_id: str) -> tuple[Response, int]:
    status = _credential(cred_id, CREDENTIALS_ACT).status
    db().rollback()
    return _answer(operations.reissue(cred_id, status), cred_id)


@bp.post("/credentials:retry-failed")
@requires(CREDENTIALS_ACT)
def retry_failed() -> tuple[Response, int]:
    outcome = operations.retry_failed(db(), identity(), _filter())
    return jsonify(outcome.detail), 202


@bp.get("/batches")
@requires(BATCHES_READ)
def batches() -> Response:
    items, total = queries.batches(db())
    return jsonify({"total": total, "items": [
        {"batch_id": i["batch"].id, "source": i["batch"].source, "total": i["batch"].total,
         "accepted": i["batch"].accepted, "created_at": _iso(i["batch"].created_at), "by_status": i["by_status"],
         "percent_done": i["percent"]} for i in items]})


@bp.get("/templates")
@requires(TEMPLATES_READ)
def templates() -> Response:
    query = select(CourseTemplate).order_by(CourseTemplate.source, CourseTemplate.course_id)
    scope = identity().course_filter(TEMPLATES_READ, CourseTemplate.source, CourseTemplate.course_id)
    if scope is not None:
        query = query.where(scope)
    return jsonify({"items": [{"source": r.source, "course_id": r.course_id, "version": r.version,
                               "title": r.template.get("title"), "updated_at": _iso(r.updated_at)}
                              for r in db().scalars(query)]})


@bp.get("/templates/<source>/<path:course_id>")
@requires(TEMPLATES_READ)
def template(source: str, course_id: str) -> Response:
    require_course(TEMPLATES_READ, source, course_id)
    row = db().scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                   CourseTemplate.course_id == course_id))
    if row is None:
        raise Problem(404, "Not Found", "No such course template.", kind="template-not-found")
    revisions = db().scalars(select(TemplateRevision).where(TemplateRevision.source == source,
                                                            TemplateRevision.course_id == course_id)
                             .order_by(TemplateRevision.version))
    return jsonify({**template_dict(row), "revisions": [
        {"version": r.version, "changed_at": _iso(r.changed_at), "changed_by": r.changed_by} for r in revisions]})


@bp.get("/sources")
@requires(SOURCES_READ)
def sources() -> Response:
    return jsonify({"items": [
        {"name": r["source"].name, "last_contact": _iso(r["last_contact"]), "requests_24h": r["requests"],
         "errors_24h": r["errors"], "error_rate_percent": r["error_rate"], "last_error": r["last_error"],
         "credentials_7d": r["credentials"], "failed_7d": r["failed"],
         "key_rotated_at": _iso(r["source"].key_rotated_at),
         "previous_key_valid_until": _iso(r["source"].previous_key_until) if r["previous_active"] else None}
        for r in overview()]})


@bp.get("/users")
@requires(USERS_MANAGE)
def users() -> Response:
    return jsonify({"items": [
        {"id": u.id, "username": u.username, "name": u.display_name, "email": u.email, "disabled": u.disabled,
         "locked_until": _iso(u.locked_until), "totp": bool(u.totp_secret), "sso": bool(u.oidc_subject),
         "roles": [{"role": r.role, "source": r.source, "course_id": r.course_id} for r in u.roles]}
        for u in db().scalars(select(StaffUser).order_by(StaffUser.username))]})


@bp.get("/audit")
@requires(AUDIT_READ)
def audit_log() -> Response:
    raw = request.args.get("before", "")
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200)
    if raw.isdigit():
        query = query.where(AuditEntry.id < int(raw))
    return jsonify({"items": [
        {"id": e.id, "at": _iso(e.at), "actor": e.actor_name, "actor_kind": e.actor_kind, "action": e.action,
         "target_type": e.target_type, "target_id": e.target_id, "outcome": e.outcome, "detail": e.detail,
         "ip": e.ip} for e in db().scalars(query)]})
