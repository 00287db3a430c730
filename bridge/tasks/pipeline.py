"""Task bodies of the pipeline, as plain functions over database rows.

Each step is idempotent: it reads the row, does its work only if the row is still in the state the
step expects, and writes the result with a compare-and-set on that state. Running a step twice (a
redelivered message, the sweep racing a slow worker) therefore never seals twice or sends twice
from the same state.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import PENDING_CREDENTIAL_STATUSES, CourseTemplate, Credential, Delivery, utcnow
from bridge.tasks.dispatch import Dispatcher
from bridge.tasks.services import PermanentIssueError, Services

log = logging.getLogger(__name__)

MAX_ISSUE_ATTEMPTS = 8
DELIVERY_LEASE = dt.timedelta(minutes=10)


@dataclass
class Context:
    """What a task needs: sessions, the sealing/delivery services and where to enqueue follow-ups."""

    sessions: sessionmaker[Session]
    services: Services
    dispatcher: Dispatcher
    metrics: Any = field(default=None)


def _set(session: Session, cred_id: str, expected: str, **values: Any) -> bool:
    """Compare-and-set on the credential status; False when another run got there first."""
    values.setdefault("updated_at", utcnow())
    result = session.execute(update(Credential).where(Credential.id == cred_id, Credential.status == expected)
                             .values(**values))
    return (result.rowcount or 0) == 1


def issue_many(ctx: Context, credential_ids: list[str]) -> None:
    """Issue a chunk; one bad credential never stops the others (its row records why)."""
    for cred_id in credential_ids:
        try:
            issue_one(ctx, cred_id)
        except Exception as exc:
            _record_issue_failure(ctx, cred_id, exc)


def issue_one(ctx: Context, cred_id: str) -> str | None:
    """Assemble, guarantee conformance, seal and store one credential; then enqueue its deliveries.

    Returns the status reached (None when the row does not exist).
    """
    with ctx.sessions() as session:
        cred = session.get(Credential, cred_id)
        if cred is None:
            return None
        if cred.status not in PENDING_CREDENTIAL_STATUSES:
            return cred.status  # already sealed, skipped, failed or revoked: nothing to do
        template_row = session.scalar(select(CourseTemplate).where(
            CourseTemplate.source == cred.source, CourseTemplate.course_id == cred.course_id))
        if template_row is None:
            raise PermanentIssueError("the course template was deleted before issuance")
        channels = list(template_row.policy.get("channels", ["email"]))
        status = cred.status
        credential_json = cred.credential_json
        values: dict[str, Any] = {}
        if status == "received":
            credential = ctx.services.build_credential(template_row.template, cred.completion,
                                                       credential_id=cred.id, issued=utcnow())
            credential_json = json.dumps(credential, ensure_ascii=False, separators=(",", ":"))
            values = {"credential_json": credential_json, "template_version": template_row.version}
        assert credential_json is not None  # noqa: S101 - assembled rows always carry the credential
        try:
            sealed_text = ctx.services.seal(credential_json.encode("utf-8"))
        except Exception:
            # Keep the assembled credential (its id and issue date) so the retry seals the same one.
            if values and _set(session, cred_id, "received", status="assembled", **values):
                session.commit()
            raise
        now = utcnow()
        if not _set(session, cred_id, status, status="sealed", sealed=sealed_text, sealed_at=now, error=None,
                    **values):
            session.rollback()
            return session.get(Credential, cred_id, populate_existing=True).status  # type: ignore[union-attr]
        existing = set(session.scalars(select(Delivery.channel).where(Delivery.credential_id == cred_id)))
        for channel in channels:
            if channel not in existing:
                session.add(Delivery(credential_id=cred_id, channel=channel, status="pending",
                                     updated_at=now))
        session.commit()
        delivery_ids = list(session.scalars(select(Delivery.id).where(
            Delivery.credential_id == cred_id, Delivery.status == "pending")))
    log.info("credential %s sealed", cred_id)
    if ctx.metrics is not None:
        ctx.metrics.sealed.inc()
    for delivery_id in delivery_ids:
        ctx.dispatcher.deliver(delivery_id)
    return "sealed"


def _record_issue_failure(ctx: Context, cred_id: str, exc: Exception) -> None:
    """Permanent errors fail the credential; others are counted and left for a retry by the sweep."""
    permanent = isinstance(exc, PermanentIssueError)
    message = str(exc) if permanent else f"{type(exc).__name__}: {ctx.services.safe_message(exc)}"
    log.warning("credential %s: issuance %s (%s)", cred_id,
                "failed" if permanent else "will be retried", type(exc).__name__)
    with ctx.sessions() as session:
        cred = session.get(Credential, cred_id)
        if cred is None or cred.status not in PENDING_CREDENTIAL_STATUSES:
            return
        attempts = cred.attempts + 1
        final = permanent or attempts >= MAX_ISSUE_ATTEMPTS
        _set(session, cred_id, cred.status, attempts=attempts, error=message[:2000],
             **({"status": "failed"} if final else {}))
        session.commit()


def deliver_one(ctx: Context, delivery_id: int) -> str | None:
    """Send one credential through one channel, at most once per pending state.

    The row is claimed by moving it to ``sending`` (compare-and-set), so two workers cannot send
    the same delivery concurrently; a worker killed while sending leaves a ``sending`` row that the
    sweep returns to ``pending`` after the lease.
    """
    now = utcnow()
    with ctx.sessions() as session:
        claimed = session.execute(update(Delivery).where(
            Delivery.id == delivery_id, Delivery.status == "pending",
            (Delivery.next_attempt_at.is_(None)) | (Delivery.next_attempt_at <= now),
        ).values(status="sending", updated_at=now)).rowcount
        session.commit()
        if claimed != 1:
            row = session.get(Delivery, delivery_id)
            return None if row is None else row.status
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None  # noqa: S101 - just claimed
        cred = delivery.credential
        if cred.status == "revoked" or cred.sealed is None:
            delivery.status, delivery.last_error = "cancelled", "the credential was revoked"
            delivery.updated_at = utcnow()
            session.commit()
            return "cancelled"
        channel, attempts = delivery.channel, delivery.attempts + 1
        completion, sealed = dict(cred.completion), cred.sealed
        credential_json = cred.credential_json or ""
        cred_id = cred.id
    outcome = ctx.services.deliver(channel, credential_id=cred_id, completion=completion,
                                   credential_json=credential_json, sealed=sealed, attempt=attempts)
    with ctx.sessions() as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None  # noqa: S101 - rows are never deleted
        delivery.attempts = attempts
        delivery.updated_at = utcnow()
        delivery.status = outcome.status
        delivery.last_error = outcome.error
        delivery.next_attempt_at = outcome.retry_at
        if outcome.result is not None:
            delivery.result = outcome.result
        session.flush()
        _settle_credential(session, cred_id)
        session.commit()
    log.info("credential %s: %s delivery %s (attempt %d)", cred_id, channel, outcome.status, attempts)
    if ctx.metrics is not None:
        ctx.metrics.deliveries.labels(channel=channel, outcome=outcome.status).inc()
    if outcome.status == "pending" and outcome.retry_at is not None:
        ctx.dispatcher.deliver(delivery_id, eta=outcome.retry_at)
    return outcome.status


def _settle_credential(session: Session, cred_id: str) -> None:
    """Derive the credential status from its deliveries once none is pending any more."""
    cred = session.get(Credential, cred_id, populate_existing=True)
    if cred is None or cred.status in ("revoked", "received", "assembled", "skipped"):
        return
    statuses = [d.status for d in session.scalars(select(Delivery).where(Delivery.credential_id == cred_id))]
    if not statuses or any(s in ("pending", "sending") for s in statuses):
        return
    delivered = sum(s == "delivered" for s in statuses)
    if delivered == len(statuses):
        new = "delivered"
    elif delivered:
        new = "partially_delivered"
    else:
        new = "failed"
    if new != cred.status:
        cred.status = new
        cred.updated_at = utcnow()
