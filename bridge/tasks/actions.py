"""What staff do to credentials: resend, revoke (the learner told why), re-issue, retry failed.

One implementation for the HTTP API and the staff console, so both obey the same rules: revoked
rows are kept and final; only sealed credentials are resent. Re-issuing (:func:`reissue`) issues a
credential again from the course's *current* template and the corrected completion (or the stored
one): one that nobody holds (not sealed yet, or sealed but never delivered: ``failed``) is
assembled and sealed again under the same id; one that was sealed and may have reached the learner
is revoked with a reason (verifiers and the learner's page then say so) and a new credential, with
a new id, replaces it.
"""
from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bridge.db.models import CHANNELS, CourseTemplate, Credential, Delivery, utcnow
from bridge.tasks.pipeline import Context
from bridge.tasks.policy import decide

log = logging.getLogger(__name__)

RESENDABLE = ("sealed", "delivered", "partially_delivered", "failed")
REISSUABLE = ("received", "assembled", "skipped", "failed", "sealed", "delivered", "partially_delivered", "revoked")
IN_PLACE = ("received", "assembled", "skipped", "failed")
"""Statuses re-issued under the same id: nobody holds a sealed file of them (a ``failed`` credential's
deliveries all failed)."""
MAX_REASON = 500
MAX_BULK = 5000


class ActionRefused(Exception):
    """The action does not apply to this credential; ``kind`` names why (API problem type)."""

    def __init__(self, kind: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.kind, self.message, self.status = kind, message, status


def load(session: Session, cred_id: str) -> Credential:
    cred = session.get(Credential, cred_id) if len(cred_id) <= 36 else None
    if cred is None:
        raise ActionRefused("credential-not-found", "No credential with this id.", 404)
    return cred


def resend(ctx: Context, cred_id: str, channels: Sequence[str] | None = None) -> Credential:
    """Deliver a sealed credential again (all its channels, or ``channels``)."""
    if channels is not None and (not channels or any(c not in CHANNELS for c in channels)):
        raise ActionRefused("invalid-channels", "Expected a non-empty list of 'email'/'wallet'.", 422)
    with ctx.sessions() as session:
        cred = load(session, cred_id)
        if cred.status not in RESENDABLE or cred.sealed_zstd is None:
            raise ActionRefused("not-resendable", f"Only sealed, non-revoked credentials can be resent "
                                f"(status: {cred.status}).")
        wanted = list(channels or [d.channel for d in cred.deliveries] or ["email"])
        existing = {d.channel: d for d in cred.deliveries}
        now = utcnow()
        for channel in wanted:
            delivery = existing.get(channel)
            if delivery is None:
                session.add(Delivery(credential_id=cred.id, channel=channel, status="pending", updated_at=now))
            elif delivery.status != "sending":
                delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, None
                delivery.last_error, delivery.updated_at = None, now
                delivery.message_id = None  # a new message on purpose: mail systems must not merge it with the first
        cred.status, cred.updated_at = "sealed", now
        session.commit()
        ids = list(session.scalars(select(Delivery.id).where(Delivery.credential_id == cred.id,
                                                             Delivery.channel.in_(wanted),
                                                             Delivery.status == "pending")))
        session.refresh(cred)
    for delivery_id in ids:
        ctx.dispatcher.deliver(delivery_id)
    return cred


def check_reason(reason: object) -> str | None:
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise ActionRefused("invalid-reason", f"expected a text of at most {MAX_REASON} characters", 422)
    return reason.strip() or None if isinstance(reason, str) else None


@dataclass(frozen=True)
class Revocation:
    credential: Credential
    changed: bool


def revoke(ctx: Context, cred_id: str, reason: str | None) -> Revocation:
    """Mark revoked (kept, never deleted); pending deliveries are cancelled. Repeating is harmless."""
    reason = check_reason(reason)
    with ctx.sessions() as session:
        cred = load(session, cred_id)
        changed = cred.status != "revoked"
        if changed:
            now = utcnow()
            cred.status, cred.revoked_at, cred.updated_at = "revoked", now, now
            cred.status_reason = reason or "revoked"
            for delivery in cred.deliveries:
                if delivery.status == "pending":
                    delivery.status, delivery.updated_at = "cancelled", now
            session.commit()
        session.refresh(cred)
        return Revocation(cred, changed)


def notify_revocation(ctx: Context, cred: Credential) -> str:
    """E-mail the learner that their credential was revoked, and why; returns the Message-ID.

    Raises the transport's delivery error when the message cannot be sent (the revocation stands).
    """
    from bridge.delivery.notice import build_revocation_notice

    learner = cred.completion.get("learner", {})
    with ctx.sessions() as session:
        template = session.scalar(select(CourseTemplate.template).where(CourseTemplate.source == cred.source,
                                                                        CourseTemplate.course_id == cred.course_id))
    lang = learner.get("language") or "en"
    titles = (template or {}).get("title") or {}
    bodies = ((template or {}).get("awarding_body") or {}).get("legal_name") or {}
    transport = ctx.services.mail_transport
    message = build_revocation_notice(
        to_email=learner["email"], learner_name=f"{learner.get('given_name', '')} {learner.get('family_name', '')}"
        .strip() or None, lang=lang, title=titles.get(lang) or titles.get("en") or next(iter(titles.values()), None),
        reason=cred.status_reason or "revoked",
        issuer=bodies.get(lang) or bodies.get("en") or next(iter(bodies.values()), None), sender=transport.sender)
    return transport.send(message)


def retry_failed(ctx: Context, cred_ids: Sequence[str]) -> list[str]:
    """Assemble, seal and deliver failed credentials again from their course's current template.

    Returns the ids that were queued; credentials no longer failed (another click, a worker) are left
    alone, since the compare-and-set on ``failed`` decides who re-issues.
    """
    ids = list(dict.fromkeys(cred_ids))[:MAX_BULK]
    if not ids:
        return []
    now = utcnow()
    with ctx.sessions() as session:
        won = list(session.execute(
            update(Credential).where(Credential.id.in_(ids), Credential.status == "failed")
            .values(status="received", status_reason=None, error=None, attempts=0, credential_json=None,
                    sealed_zstd=None, sealed_dictionary_id=None, sealed_at=None, template_version=None,
                    revision=Credential.revision + 1, updated_at=now)
            .returning(Credential.id).execution_options(synchronize_session=False)).scalars())
        if won:
            # Sealing writes the delivery rows afresh (their history stays in delivery_attempts).
            session.execute(delete(Delivery).where(Delivery.credential_id.in_(won)))
        session.commit()
    if won:
        ctx.dispatcher.issue(won)
    log.info("re-issuing %d credential(s)", len(won))
    return won


@dataclass(frozen=True)
class Reissued:
    """A re-issue: the credential acted on, the one issued now (the same row when ``in_place``)."""

    old_id: str
    old_status: str
    credential: Credential
    in_place: bool

    @property
    def revoked_id(self) -> str | None:
        return None if self.in_place else self.old_id


def reissue(ctx: Context, cred_id: str, completion: dict[str, Any] | None = None,
            reason: str | None = None) -> Reissued:
    """Issue a credential again from the course's current template and ``completion`` (validated,
    normal form, same source, course and learner) or the stored completion (see the module docstring).

    The revocation and the new credential are one transaction; ``reason`` (default "re-issued") is
    the revocation's. Refused (:class:`ActionRefused`) for an unknown id, a credential already
    replaced by a re-issue, a completion of another learner or course, and a course without template.
    """
    reason = check_reason(reason)
    now = utcnow()
    with ctx.sessions() as session:
        cred = session.scalar(select(Credential).where(Credential.id == cred_id).with_for_update()) \
            if len(cred_id) <= 36 else None
        if cred is None:
            raise ActionRefused("credential-not-found", "No credential with this id.", 404)
        if cred.replaced_by is not None or cred.superseded:
            raise ActionRefused("already-reissued", f"This credential was already re-issued as {cred.replaced_by}; "
                                "re-issue that one.")
        if completion is not None:
            for name, mine, theirs in (("source", cred.source, completion["source"]),
                                       ("course_id", cred.course_id, completion["course_id"]),
                                       ("learner.id", cred.learner_id, completion["learner"]["id"])):
                if mine != theirs:
                    raise ActionRefused("invalid-completion", f"completion.{name}: expected {mine!r}, the "
                                        "credential's own (a re-issue corrects a credential, it does not move it)",
                                        422)
        policy = session.scalar(select(CourseTemplate.policy).where(CourseTemplate.source == cred.source,
                                                                    CourseTemplate.course_id == cred.course_id))
        if policy is None:
            raise ActionRefused("template-not-found", "The course has no credential template any more; PUT one "
                                "first.")
        document = completion if completion is not None else cred.completion
        decision = decide(policy, document)
        status = "received" if decision.issue else "skipped"
        old_status = cred.status
        if old_status in IN_PLACE:
            cred.completion, cred.status, cred.status_reason = document, status, decision.reason
            cred.error, cred.attempts, cred.credential_json, cred.template_version = None, 0, None, None
            cred.sealed_zstd, cred.sealed_dictionary_id, cred.sealed_at = None, None, None
            cred.revision, cred.updated_at = (cred.revision or 0) + 1, now
            session.execute(delete(Delivery).where(Delivery.credential_id == cred.id))
            new = cred
        else:
            taken = session.scalar(select(func.max(Credential.superseded)).where(
                Credential.source == cred.source, Credential.course_id == cred.course_id,
                Credential.learner_id == cred.learner_id)) or 0
            new = Credential(id=str(uuid.uuid4()), source=cred.source, course_id=cred.course_id,
                             learner_id=cred.learner_id, completion=document, status=status,
                             status_reason=decision.reason, attempts=0, created_at=now, updated_at=now)
            if cred.status != "revoked":
                cred.status, cred.revoked_at = "revoked", now
                cred.status_reason = reason or "re-issued"
                for delivery in cred.deliveries:
                    if delivery.status == "pending":
                        delivery.status, delivery.updated_at = "cancelled", now
            cred.superseded, cred.replaced_by, cred.updated_at = taken + 1, new.id, now
            session.flush()  # the old row leaves the learner's "current" slot before the new one takes it
            session.add(new)
        session.commit()
        session.refresh(new)
        result = Reissued(cred_id, old_status, new, new is cred)
    if result.credential.status == "received":
        ctx.dispatcher.issue([result.credential.id])
    log.info("credential re-issued (%s)", "in place" if result.in_place else "revoked and replaced")
    return result
