"""Outbox sweep: re-enqueue whatever the database says is still to do.

Messages can be lost (broker restart, worker killed between ack and commit, embedded process
stopped); rows cannot. Every ``EDC_SWEEP_INTERVAL`` the sweep looks for credentials still
``received``/``assembled`` and deliveries still ``pending`` for longer than ``EDC_SWEEP_GRACE``, and
deliveries ``sending`` under a claim whose heartbeat stopped for ``EDC_DELIVERY_LEASE``, and enqueues
them again; the tasks' compare-and-set on states and claim tokens makes repeats harmless.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bridge.auth import prune_seen_signatures
from bridge.db.models import PENDING_CREDENTIAL_STATUSES, Credential, Delivery, StaffSession, utcnow
from bridge.tasks.claims import release_expired
from bridge.tasks.dispatch import Dispatcher
from bridge.tasks.pipeline import DELIVERY_LEASE, MAX_ISSUE_ATTEMPTS

log = logging.getLogger(__name__)

SWEEP_LIMIT = 5000


@dataclass(frozen=True)
class SweepReport:
    credentials: int
    deliveries: int
    unstuck: int
    signatures_pruned: int


def sweep(sessions: sessionmaker[Session], dispatcher: Dispatcher, *, grace: int, signature_window: int,
          retries_due_now: bool, now: dt.datetime | None = None,
          lease: dt.timedelta = DELIVERY_LEASE) -> SweepReport:
    """Re-enqueue stale work; ``retries_due_now`` for dispatchers that do not honour an ETA themselves.

    Deliveries whose claim's heartbeat is older than ``lease`` are released: their worker died (or
    froze) mid-chunk. A live claim is renewed by its worker and never released.
    """
    now = now or utcnow()
    stale = now - dt.timedelta(seconds=grace)
    with sessions() as session:
        cred_ids = list(session.scalars(select(Credential.id).where(
            Credential.status.in_(PENDING_CREDENTIAL_STATUSES), Credential.updated_at < stale,
            Credential.attempts < MAX_ISSUE_ATTEMPTS).limit(SWEEP_LIMIT)))
        if cred_ids:
            # Touch the rows so the next sweep waits a full grace period for this attempt.
            session.execute(update(Credential).where(Credential.id.in_(cred_ids)).values(updated_at=now))
        unstuck = release_expired(session, now, lease, released_at=stale - dt.timedelta(seconds=1))
        retry_due = Delivery.next_attempt_at <= (now if retries_due_now else stale)
        delivery_ids = list(session.scalars(select(Delivery.id).where(
            Delivery.status == "pending",
            or_(and_(Delivery.next_attempt_at.is_not(None), retry_due),
                and_(Delivery.next_attempt_at.is_(None), Delivery.updated_at < stale)),
        ).limit(SWEEP_LIMIT)))
        if delivery_ids:
            session.execute(update(Delivery).where(
                Delivery.id.in_(delivery_ids), Delivery.status == "pending",
                Delivery.next_attempt_at.is_(None),
            ).values(updated_at=now))
        pruned = prune_seen_signatures(session, signature_window, int(now.timestamp()))
        session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))  # ended console sessions
        session.commit()
    if cred_ids:
        dispatcher.issue(cred_ids)
    if delivery_ids:
        dispatcher.deliver_many(delivery_ids)
    report = SweepReport(len(cred_ids), len(delivery_ids), unstuck, pruned)
    if cred_ids or delivery_ids or unstuck:
        log.info("sweep re-enqueued %d credentials and %d deliveries (%d unstuck)",
                 report.credentials, report.deliveries, report.unstuck)
    return report
