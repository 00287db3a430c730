"""Console actions on credentials, each with its audit entry: shared by the pages and the console API.

The rules themselves live in ``bridge.tasks.actions`` (also used by the machine API); this layer
adds what the console needs around them: the course scope of the person acting, the learner's
notification on revocation, and exactly one audit entry per action, refused or not.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from bridge import audit
from bridge.api.common import runtime
from bridge.console import queries
from bridge.console.roles import CREDENTIALS_ACT, Identity
from bridge.db.models import Credential
from bridge.tasks import actions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str = ""
    status: int = 200
    detail: dict[str, Any] | None = None


def _record(action: str, cred_id: str, outcome: Outcome) -> Outcome:
    audit.record(runtime().sessions, action, target_type="credential", target_id=cred_id,
                 outcome="ok" if outcome.ok else "refused",
                 detail={**(outcome.detail or {}), **({"reason": outcome.message} if not outcome.ok else {})})
    return outcome


def resend(cred_id: str) -> Outcome:
    try:
        actions.resend(runtime().context, cred_id)
    except actions.ActionRefused as exc:
        return _record("credential.resend", cred_id, Outcome(False, exc.message, exc.status))
    return _record("credential.resend", cred_id, Outcome(True, status=202))


def revoke(cred_id: str, reason: str, notify: bool) -> Outcome:
    reason = reason.strip()
    if not reason:
        return _record("credential.revoke", cred_id, Outcome(False, "a reason is required", 422))
    try:
        revocation = actions.revoke(runtime().context, cred_id, reason[:actions.MAX_REASON])
    except actions.ActionRefused as exc:
        return _record("credential.revoke", cred_id, Outcome(False, exc.message, exc.status))
    detail: dict[str, Any] = {"revocation_reason": reason, "changed": revocation.changed}
    if revocation.changed and notify:
        try:
            actions.notify_revocation(runtime().context, revocation.credential)
            detail["learner_notified"] = "yes"
        except Exception as exc:  # noqa: BLE001 - the revocation stands; the failure is recorded and shown
            log.warning("revocation notice not sent (%s)", type(exc).__name__)
            detail["learner_notified"] = f"failed ({type(exc).__name__})"
    return _record("credential.revoke", cred_id, Outcome(True, detail=detail))


def reissue(cred_id: str, status_before: str, reason: str | None = None) -> Outcome:
    """Re-issue through the one service the API uses too: in place when nobody holds the credential,
    otherwise revoked (with ``reason``) and replaced by a new credential."""
    detail: dict[str, Any] = {"status_before": status_before}
    try:
        done = actions.reissue(runtime().context, cred_id, reason=reason)
    except actions.ActionRefused as exc:
        return _record("credential.reissue", cred_id, Outcome(False, exc.message, exc.status, detail))
    detail.update({"new_credential": done.credential.id, "revoked": done.revoked_id is not None})
    return _record("credential.reissue", cred_id, Outcome(True, status=202, detail=detail))


def retry_failed(session: Session, who: Identity, flt: queries.CredentialFilter) -> Outcome:
    """Re-issue the failed credentials the filter selects, within the person's courses (at most 5,000)."""
    selected = queries.credential_query(who, flt, CREDENTIALS_ACT).where(Credential.status == "failed")
    ids = list(session.scalars(selected.with_only_columns(Credential.id).order_by(Credential.updated_at)
                               .limit(actions.MAX_BULK)))
    session.rollback()
    queued = actions.retry_failed(runtime().context, ids)
    target = ",".join(f"{k}={v}" for k, v in flt.as_args().items()) or "all"
    audit.record(runtime().sessions, "credential.retry-failed", target_type="credentials", target_id=target,
                 detail={"selected": len(ids), "queued": len(queued)})
    return Outcome(True, status=202, detail={"selected": len(ids), "queued": len(queued)})
