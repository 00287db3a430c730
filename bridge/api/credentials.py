"""Credentials: status, the sealed file, listing, resend, revoke and re-issue (revoked rows are kept)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy import func, select

from bridge import audit
from bridge.api.common import runtime, status_url
from bridge.api.inputs import Answer, operation
from bridge.api.schemas import CredentialPath, CredentialQuery, ReissueBody, ResendBody, RevokeBody
from bridge.auth import Principal, require
from bridge.db.models import Credential
from bridge.db.sealed_store import STORE, CorruptSealedFile
from bridge.problems import FieldProblem, Problem, validation_problem
from bridge.tasks import actions
from bridge.tasks.actions import ActionRefused

bp = Blueprint("credentials", __name__, url_prefix="/api/v1/credentials")

def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def credential_status(cred: Credential) -> dict[str, Any]:
    """Status document: ids and states only; learner personal data stays in the database."""
    return {
        "id": cred.id, "source": cred.source, "course_id": cred.course_id, "learner_id": cred.learner_id,
        "batch_id": cred.batch_id, "status": cred.status, "reason": cred.status_reason, "error": cred.error,
        "issue_attempts": cred.attempts, "template_version": cred.template_version,
        "created_at": _iso(cred.created_at), "updated_at": _iso(cred.updated_at),
        "sealed_at": _iso(cred.sealed_at), "revoked_at": _iso(cred.revoked_at), "replaced_by": cred.replaced_by,
        "sealed_url": status_url(f"/api/v1/credentials/{cred.id}/sealed") if cred.sealed_zstd is not None else None,
        "deliveries": [{"channel": d.channel, "status": d.status, "attempts": d.attempts,
                        "last_error": d.last_error, "next_attempt_at": _iso(d.next_attempt_at),
                        "result": d.result, "updated_at": _iso(d.updated_at)} for d in cred.deliveries],
    }


def _load(session: Any, cred_id: str) -> Credential:
    cred = session.get(Credential, cred_id) if len(cred_id) <= 36 else None
    if cred is None:
        raise Problem(404, "Not Found", "No credential with this id.", kind="credential-not-found")
    return cred


@operation(bp, "GET", "/<cred_id>", auth="source", path=CredentialPath, tags=("credentials",))
def get_status(principal: Principal, path: dict[str, str]) -> Response:
    """Credential status with each delivery channel; its source may read it too (adapters poll the status_url)."""
    cred_id = path["cred_id"]
    with runtime().sessions() as session:
        cred = _load(session, cred_id)
        require(principal, cred.source)
        status = credential_status(cred)
    if cred.sealed_zstd is not None and cred.status != "revoked":
        # The learner's page (created on first use): what an LMS shows the learner next to the course.
        from bridge.documents.store import ensure_page

        status["page_url"] = ensure_page(runtime().sessions, cred.id).url(runtime().settings.public_url)
    return jsonify(status)


@operation(bp, "GET", "/<cred_id>/sealed", auth="source", path=CredentialPath, tags=("credentials",),
           responses=(Answer(200, "The sealed credential", "application/ld+json"),))
def get_sealed(principal: Principal, path: dict[str, str]) -> Response:
    """The sealed credential (JAdES, JSON-LD payload), byte for byte as stored."""
    cred_id = path["cred_id"]
    with runtime().sessions() as session:
        cred = _load(session, cred_id)
        require(principal, cred.source)
        try:
            sealed = STORE.read(session, cred)
        except CorruptSealedFile:
            raise Problem(500, "Internal Server Error", "The stored sealed file of this credential is damaged "
                          "and cannot be served; restore the database row from a backup or resend after "
                          "re-issuing.", kind="sealed-file-damaged") from None
        if sealed is None:
            raise Problem(409, "Conflict", f"The credential is not sealed (status: {cred.status}).",
                          kind="not-sealed", status_value=cred.status)
        response = Response(sealed, mimetype="application/ld+json")
        response.headers["Content-Disposition"] = f'attachment; filename="credential-{cred.id}.jsonld"'
        if cred.status == "revoked":
            response.headers["X-EDC-Revoked"] = _iso(cred.revoked_at) or "true"
        return response


@operation(bp, "GET", "", auth="source", query=CredentialQuery, tags=("credentials",))
def list_credentials(principal: Principal, query: dict[str, Any]) -> Response:
    """List credentials, newest first; filter by source, course_id, learner_id, status, batch_id.

    A source sees its own credentials only.
    """
    page, per_page = query.get("page", 1), query.get("per_page", 50)
    source = query.get("source")
    if not principal.is_admin:
        if source is not None and source != principal.source:
            require(principal, source)
        source = principal.source
    query_stmt = select(Credential)
    filters = {"source": source, "course_id": query.get("course_id"), "learner_id": query.get("learner_id"),
               "status": query.get("status"), "batch_id": query.get("batch_id")}
    for name, value in filters.items():
        if value is not None:
            query_stmt = query_stmt.where(getattr(Credential, name) == value)
    with runtime().sessions() as session:
        total = session.scalar(select(func.count()).select_from(query_stmt.subquery())) or 0
        rows = session.scalars(query_stmt.order_by(Credential.created_at.desc(), Credential.id)
                               .offset((page - 1) * per_page).limit(per_page)).all()
        items = [credential_status(c) for c in rows]
    pages = (total + per_page - 1) // per_page
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": total, "pages": pages})


def _refused(exc: ActionRefused) -> Problem:
    if exc.status == 422:
        if exc.kind == "invalid-completion":
            field, _, message = exc.message.partition(": ")
            return validation_problem([FieldProblem(field, message)])
        field = "channels" if exc.kind == "invalid-channels" else "reason"
        return validation_problem([FieldProblem(field, exc.message)])
    return Problem(exc.status, "Not Found" if exc.status == 404 else "Conflict", exc.message, kind=exc.kind)


@operation(bp, "POST", "/<cred_id>:resend", auth="admin", path=CredentialPath, body=ResendBody,
           body_required=False, responses=(Answer(202, "Accepted"),), tags=("credentials",))
def resend(principal: Principal, path: dict[str, str], body: dict[str, Any]) -> tuple[Response, int]:
    """Deliver a sealed credential again (all its channels, or those listed in ``channels``)."""
    channels = body.get("channels")
    detail = {"channels": list(channels)} if channels else {}
    try:
        cred = actions.resend(runtime().context, path["cred_id"], channels)
    except ActionRefused as exc:
        _audit(principal, "credential.resend", path["cred_id"], {**detail, "reason": exc.message}, refused=True)
        raise _refused(exc) from None
    _audit(principal, "credential.resend", cred.id, detail)
    return jsonify(credential_status(cred)), 202


@operation(bp, "POST", "/<cred_id>:revoke", auth="admin", path=CredentialPath, body=RevokeBody,
           body_required=False, tags=("credentials",))
def revoke(principal: Principal, path: dict[str, str], body: dict[str, Any]) -> Response:
    """Mark revoked (kept, never deleted); pending deliveries are cancelled. Repeating is harmless."""
    try:
        revocation = actions.revoke(runtime().context, path["cred_id"], body.get("reason"))
    except ActionRefused as exc:
        _audit(principal, "credential.revoke", path["cred_id"], {"reason": exc.message}, refused=True)
        raise _refused(exc) from None
    _audit(principal, "credential.revoke", revocation.credential.id,
           {"revocation_reason": revocation.credential.status_reason, "changed": revocation.changed})
    return jsonify(credential_status(revocation.credential))


@operation(bp, "POST", "/<cred_id>:reissue", auth="source", path=CredentialPath, body=ReissueBody,
           body_required=False, responses=(Answer(202, "Accepted: the credential issued now (see replaces)"),),
           tags=("credentials",))
def reissue(principal: Principal, path: dict[str, str], body: dict[str, Any]) -> tuple[Response, int, dict[str, str]]:
    """Issue a credential again, from the corrected ``completion`` or the stored one and the current template.

    For the admin token or the source the credential belongs to. A credential nobody holds yet (not
    sealed, or ``failed``: every delivery failed) is issued again under its id. One that was sealed
    is revoked with ``reason`` (default "re-issued"; /verify and the learner's page then show it
    revoked) and replaced by a new credential, whose status is answered with ``replaces`` (the old
    id) and ``revoked`` (true). The completion must be the same source, course and learner. Audited.
    """
    from bridge.api.completions import intake_problems

    rt = runtime()
    cred_id = path["cred_id"]
    with rt.sessions() as session:
        source = session.scalar(select(Credential.source).where(Credential.id == cred_id)) \
            if len(cred_id) <= 36 else None
    if source is None:
        raise Problem(404, "Not Found", "No credential with this id.", kind="credential-not-found")
    require(principal, source)
    completion = body.get("completion")
    if completion is not None:
        problems = intake_problems(completion, "completion")
        if problems:
            raise validation_problem(problems, "The completion has invalid fields.")
    actor = audit.api_actor(principal)
    try:
        done = actions.reissue(rt.context, cred_id, completion, body.get("reason"))
    except ActionRefused as exc:
        audit.record(rt.sessions, "credential.reissue", target_type="credential", target_id=cred_id,
                     outcome="refused", detail={"reason": exc.message}, actor=actor)
        raise _refused(exc) from None
    audit.record(rt.sessions, "credential.reissue", target_type="credential", target_id=cred_id, actor=actor,
                 detail={"status_before": done.old_status, "new_credential": done.credential.id,
                         "revoked": done.revoked_id is not None, "corrected": completion is not None})
    answer = credential_status(done.credential)
    answer.update({"replaces": done.old_id, "revoked": done.revoked_id is not None})
    url = status_url(f"/api/v1/credentials/{done.credential.id}")
    return jsonify(answer), 202, {"Location": url}


def _audit(principal: Principal, action: str, cred_id: str, detail: dict[str, Any], *, refused: bool = False) -> None:
    """The audit entry of an API action, like the console's (actor kind "api": the admin token or the source)."""
    audit.record(runtime().sessions, action, target_type="credential", target_id=cred_id,
                 outcome="refused" if refused else "ok", detail=detail, actor=audit.api_actor(principal))
