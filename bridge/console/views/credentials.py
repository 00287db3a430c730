"""Credentials: search, one credential's timeline, the actions on it, bulk retry, exports."""
from __future__ import annotations

from typing import Any

from flask import Response, current_app, redirect, request, stream_with_context, url_for

from bridge import audit
from bridge.api.common import runtime
from bridge.console import exports, operations, queries
from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import CREDENTIALS_ACT, CREDENTIALS_READ, CREDENTIALS_REVOKE, EXPORTS
from bridge.console.web import console_blueprint, db, deny, identity, language, render, require_course, requires
from bridge.db.models import CREDENTIAL_STATUSES, Credential
from bridge.tasks import actions

bp = console_blueprint("console_credentials", __name__)
register_section(Section("credentials", N_("Credentials"), "console_credentials.search", CREDENTIALS_READ, 20))


def _filter() -> tuple[queries.CredentialFilter, dict[str, str] | None]:
    try:
        return queries.CredentialFilter.from_args(request.args), None
    except queries.BadFilter as exc:
        return queries.CredentialFilter(), {"field": exc.field, "message": exc.message}


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return max(1, min(int(raw), 100000)) if raw.isdigit() else 1


@bp.get("/credentials")
@requires(CREDENTIALS_READ)
def search() -> Response:
    flt, problem = _filter()
    page = _page_number()
    session = db()
    rows, total = queries.search(session, identity(), flt, page)
    titles = queries.course_titles(session, {(c.source, c.course_id) for c in rows}, language())
    items = [{"cred": c, "learner": queries.learner(c), "title": titles.get((c.source, c.course_id), c.course_id)}
             for c in rows]
    pages = max(1, (total + queries.PER_PAGE - 1) // queries.PER_PAGE)
    return render("credentials.html", 400 if problem else 200, items=items, total=total, page=page, pages=pages,
                  flt=flt, args=flt.as_args(), statuses=CREDENTIAL_STATUSES, problem=problem,
                  can_retry=identity().can(CREDENTIALS_ACT), can_export=identity().can(EXPORTS))


def _credential(cred_id: str, permission: str = CREDENTIALS_READ) -> Credential:
    cred = db().get(Credential, cred_id) if len(cred_id) <= 36 else None
    if cred is None:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    require_course(permission, cred.source, cred.course_id)
    return cred


@bp.errorhandler(404)
def _missing(_: Any) -> Response:
    return render("not_found.html", 404)


@bp.get("/credentials/<cred_id>")
@requires(CREDENTIALS_READ)
def detail(cred_id: str, status: int = 200, **context: Any) -> Response:
    cred = _credential(cred_id)
    session = db()
    who = identity()
    course = (cred.source, cred.course_id)
    title = queries.course_titles(session, {course}, language()).get(course, cred.course_id)
    return render("credential.html", status, cred=cred, learner=queries.learner(cred), title=title,
                  events=queries.timeline(session, cred),
                  can_act=who.can(CREDENTIALS_ACT, course), can_revoke=who.can(CREDENTIALS_REVOKE, course),
                  resendable=cred.status in actions.RESENDABLE and cred.sealed_zstd is not None,
                  reissuable=cred.status in actions.REISSUABLE and cred.replaced_by is None,
                  reissue_in_place=cred.status in actions.IN_PLACE, **context)


def _after(cred_id: str, message: str) -> Response:
    return redirect(url_for("console_credentials.detail", cred_id=cred_id, done=message))  # type: ignore[return-value]


@bp.post("/credentials/<cred_id>/resend")
@requires(CREDENTIALS_ACT)
def resend(cred_id: str) -> Response:
    _credential(cred_id, CREDENTIALS_ACT)
    db().rollback()  # the action runs in its own transaction
    outcome = operations.resend(cred_id)
    return _after(cred_id, "resent") if outcome.ok else detail(cred_id, outcome.status, refused=outcome.message)


@bp.post("/credentials/<cred_id>/revoke")
@requires(CREDENTIALS_REVOKE)
def revoke(cred_id: str) -> Response:
    _credential(cred_id, CREDENTIALS_REVOKE)
    db().rollback()
    outcome = operations.revoke(cred_id, request.form.get("reason") or "", request.form.get("notify") == "1")
    if not outcome.ok:
        return detail(cred_id, outcome.status, refused=outcome.message)
    notified = (outcome.detail or {}).get("learner_notified", "")
    return _after(cred_id, "revoked-unnotified" if notified.startswith("failed") else "revoked")


@bp.post("/credentials/<cred_id>/reissue")
@requires(CREDENTIALS_ACT)
def reissue(cred_id: str) -> Response:
    status = _credential(cred_id, CREDENTIALS_ACT).status
    db().rollback()
    reason = (request.form.get("reason") or "").strip()[:actions.MAX_REASON] or None
    outcome = operations.reissue(cred_id, status, reason)
    if not outcome.ok:
        return detail(cred_id, outcome.status, refused=outcome.message)
    return _after((outcome.detail or {}).get("new_credential") or cred_id, "reissued")


@bp.post("/credentials/retry-failed")
@requires(CREDENTIALS_ACT)
def retry_failed() -> Response:
    """Re-issue the failed credentials the filter selects (within the person's courses), at most 5,000."""
    try:
        flt = queries.CredentialFilter.from_args(request.form)
    except queries.BadFilter:
        flt = queries.CredentialFilter()
    outcome = operations.retry_failed(db(), identity(), flt)
    queued = (outcome.detail or {}).get("queued", 0)
    return redirect(url_for("console_credentials.search", **{**flt.as_args(), "retried": queued}))  # type: ignore[return-value]


@bp.get("/credentials/export.<fmt>")
@requires(EXPORTS)
def export(fmt: str) -> Response:
    if fmt not in ("csv", "xlsx"):
        deny(EXPORTS)
    flt, problem = _filter()
    if problem:
        return search()
    limit = current_app.extensions["edc_console"].export_max_rows
    session = db()
    who = identity()
    total = session.scalar(queries.select_count(queries.credential_query(who, flt, EXPORTS))) or 0
    if total > limit:
        return render("export_too_large.html", 413, total=total, limit=limit, args=flt.as_args())
    audit.record(runtime().sessions, "credentials.export", target_type="credentials",
                 target_id=",".join(f"{k}={v}" for k, v in flt.as_args().items()) or "all",
                 detail={"format": fmt, "rows": total})
    rows = queries.iterate(session, who, flt, limit, EXPORTS)
    name = "credentials-" + "-".join(v for v in (flt.source, flt.course_id, flt.since and flt.since.isoformat(),
                                                 flt.until and flt.until.isoformat()) if v)
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)[:120]
    if fmt == "csv":
        response = Response(stream_with_context(exports.csv_stream(rows)), mimetype="text/csv")
    else:
        response = Response(exports.xlsx_bytes(rows),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
