"""The console's JSON API under ``/console/api``: what the pages show and do, for scripts and for
progressive enhancement. Same sign-in (session cookie + ``X-CSRFToken`` on writes, or the admin
bearer token), same roles and course scopes, same audit entries as the pages."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from sqlalchemy import select

from bridge.api.common import runtime
from bridge.api.credentials import credential_status
from bridge.api.inputs import Answer, operation
from bridge.api.schemas import CoursePath, CredentialPath
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
from bridge.console.schemas import AuditQuery, CredentialSearch, RevokeRequest
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


@operation(bp, "GET", "/me", auth="console", tags=("console",))
def me() -> Response:
    """Who is signed in, with their roles and permissions."""
    who = identity()
    return jsonify({"username": who.username, "name": who.display_name, "kind": who.kind,
                    "roles": [{"role": g.role, "source": g.source, "course_id": g.course_id} for g in who.grants],
                    "permissions": sorted(who.scopes)})


@operation(bp, "GET", "/dashboard", auth="console", tags=("console",))
@requires(DASHBOARD)
def dashboard() -> Response:
    """Dashboard figures (and health of the eSeal, TSA, wallet and SMTP for those who may see it)."""
    who = identity()
    figures: dict[str, Any] = queries.dashboard(db(), who) if who.can(CREDENTIALS_READ) else {}
    if who.can(SETTINGS_READ):
        checks, days = health.checks(runtime().context.services)
        figures["health"] = [vars(c) for c in checks]
        figures["seal_days_left"] = days
    return jsonify(figures)


def _filter(query: dict[str, Any]) -> queries.CredentialFilter:
    try:
        return queries.CredentialFilter.from_args(
            {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in query.items() if k != "page"})
    except queries.BadFilter as exc:
        raise Problem(400, "Bad Request", "A search filter is invalid.", kind="invalid-parameter",
                      errors=[FieldProblem(exc.field, exc.message)]) from None


@operation(bp, "GET", "/credentials", auth="console", query=CredentialSearch, tags=("console",))
@requires(CREDENTIALS_READ)
def credentials(query: dict[str, Any]) -> Response:
    """Search credentials (within the person's courses), newest first, 50 a page."""
    page = query.get("page", 1)
    rows, total = queries.search(db(), identity(), _filter(query), page)
    return jsonify({"items": [{**credential_status(c), "learner": queries.learner(c)} for c in rows],
                    "total": total, "page": page, "per_page": queries.PER_PAGE})


def _credential(cred_id: str, permission: str) -> Credential:
    cred = db().get(Credential, cred_id) if len(cred_id) <= 36 else None
    if cred is None:
        raise Problem(404, "Not Found", "No credential with this id.", kind="credential-not-found")
    require_course(permission, cred.source, cred.course_id)
    return cred


@operation(bp, "GET", "/credentials/<cred_id>", auth="console", path=CredentialPath, tags=("console",))
@requires(CREDENTIALS_READ)
def credential(path: dict[str, str]) -> Response:
    """One credential with its learner and timeline (received, sealed, each delivery attempt, actions)."""
    cred = _credential(path["cred_id"], CREDENTIALS_READ)
    events = [{"at": _iso(e.at), "kind": e.kind, "title": e.title, "detail": e.detail, "outcome": e.outcome,
               "actor": e.actor} for e in queries.timeline(db(), cred)]
    return jsonify({**credential_status(cred), "learner": queries.learner(cred), "timeline": events})


@operation(bp, "POST", "/credentials/<cred_id>:resend", auth="console", path=CredentialPath,
           responses=(Answer(202, "Accepted"),), tags=("console",))
@requires(CREDENTIALS_ACT)
def resend(path: dict[str, str]) -> tuple[Response, int]:
    """Deliver a sealed credential again through its channels."""
    cred_id = path["cred_id"]
    _credential(cred_id, CREDENTIALS_ACT)
    db().rollback()
    return _answer(operations.resend(cred_id), cred_id)


@operation(bp, "POST", "/credentials/<cred_id>:revoke", auth="console", path=CredentialPath, body=RevokeRequest,
           tags=("console",))
@requires(CREDENTIALS_REVOKE)
def revoke(path: dict[str, str], body: RevokeRequest) -> tuple[Response, int]:
    """Revoke with a reason; the learner is told by e-mail unless ``notify`` is false."""
    cred_id = path["cred_id"]
    _credential(cred_id, CREDENTIALS_REVOKE)
    db().rollback()
    return _answer(operations.revoke(cred_id, body.reason, body.notify), cred_id)


@operation(bp, "POST", "/credentials/<cred_id>:reissue", auth="console", path=CredentialPath,
           responses=(Answer(202, "Accepted"),), tags=("console",))
@requires(CREDENTIALS_ACT)
def reissue(path: dict[str, str]) -> tuple[Response, int]:
    """Re-issue (the API's service): in place when nobody holds it, else revoked and replaced by a new one."""
    cred_id = path["cred_id"]
    status = _credential(cred_id, CREDENTIALS_ACT).status
    db().rollback()
    return _answer(operations.reissue(cred_id, status), cred_id)


@operation(bp, "POST", "/credentials:retry-failed", auth="console", query=CredentialSearch,
           responses=(Answer(202, "Accepted"),), tags=("console",))
@requires(CREDENTIALS_ACT)
def retry_failed(query: dict[str, Any]) -> tuple[Response, int]:
    """Re-issue the failed credentials the filters select (within the person's courses), at most 5,000."""
    outcome = operations.retry_failed(db(), identity(), _filter(query))
    return jsonify(outcome.detail), 202


@operation(bp, "GET", "/batches", auth="console", tags=("console",))
@requires(BATCHES_READ)
def batches() -> Response:
    """The latest batches with their progress."""
    items, total = queries.batches(db())
    return jsonify({"total": total, "items": [
        {"batch_id": i["batch"].id, "source": i["batch"].source, "total": i["batch"].total,
         "accepted": i["batch"].accepted, "created_at": _iso(i["batch"].created_at), "by_status": i["by_status"],
         "percent_done": i["percent"]} for i in items]})


@operation(bp, "GET", "/templates", auth="console", tags=("console",))
@requires(TEMPLATES_READ)
def templates() -> Response:
    """Course templates within the person's courses."""
    query = select(CourseTemplate).order_by(CourseTemplate.source, CourseTemplate.course_id)
    scope = identity().course_filter(TEMPLATES_READ, CourseTemplate.source, CourseTemplate.course_id)
    if scope is not None:
        query = query.where(scope)
    return jsonify({"items": [{"source": r.source, "course_id": r.course_id, "version": r.version,
                               "title": r.template.get("title"), "updated_at": _iso(r.updated_at)}
                              for r in db().scalars(query)]})


@operation(bp, "GET", "/templates/<source>/<course_id>", auth="console", path=CoursePath, tags=("console",))
@requires(TEMPLATES_READ)
def template(path: dict[str, str]) -> Response:
    """A course template with its revisions (version, when, by whom)."""
    source, course_id = path["source"], path["course_id"]
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


@operation(bp, "GET", "/sources", auth="console", tags=("console",))
@requires(SOURCES_READ)
def sources() -> Response:
    """LMS sources with last contact, error rate and key rotation state."""
    return jsonify({"items": [
        {"name": r["source"].name, "last_contact": _iso(r["last_contact"]), "requests_24h": r["requests"],
         "errors_24h": r["errors"], "error_rate_percent": r["error_rate"], "last_error": r["last_error"],
         "credentials_7d": r["credentials"], "failed_7d": r["failed"],
         "key_rotated_at": _iso(r["source"].key_rotated_at),
         "previous_key_valid_until": _iso(r["source"].previous_key_until) if r["previous_active"] else None}
        for r in overview()]})


@operation(bp, "GET", "/users", auth="console", tags=("console",))
@requires(USERS_MANAGE)
def users() -> Response:
    """Console accounts and their roles (never passwords or TOTP secrets)."""
    return jsonify({"items": [
        {"id": u.id, "username": u.username, "name": u.display_name, "email": u.email, "disabled": u.disabled,
         "locked_until": _iso(u.locked_until), "totp": bool(u.totp_secret), "sso": bool(u.oidc_subject),
         "roles": [{"role": r.role, "source": r.source, "course_id": r.course_id} for r in u.roles]}
        for u in db().scalars(select(StaffUser).order_by(StaffUser.username))]})


@operation(bp, "GET", "/audit", auth="console", query=AuditQuery, tags=("console",))
@requires(AUDIT_READ)
def audit_log(query: dict[str, Any]) -> Response:
    """The audit log, newest first, 200 entries at a time (``before``: older than this id)."""
    select_entries = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200)
    if "before" in query:
        select_entries = select_entries.where(AuditEntry.id < query["before"])
    return jsonify({"items": [
        {"id": e.id, "at": _iso(e.at), "actor": e.actor_name, "actor_kind": e.actor_kind, "action": e.action,
         "target_type": e.target_type, "target_id": e.target_id, "outcome": e.outcome, "detail": e.detail,
         "ip": e.ip} for e in db().scalars(select_entries)]})
