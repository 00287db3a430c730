"""Delivery claims: which run may send a delivery, and record what came of it.

A run (one ``deliver_many`` call) claims its deliveries by moving them from ``pending`` to
``sending`` under a fresh random ``claim_token``. From then on the row is that run's:

* a **heartbeat** thread renews ``heartbeat_at`` on the run's rows every quarter lease, as long as
  the run makes progress (a run stuck for a whole lease stops renewing the rows it has not sent
  yet, so they go to another worker; the rows it has sent keep being renewed until their outcome
  is written, so that outcome is never taken for a lost one);
* right before each send the run checks, with a compare-and-set on the token, that the row is
  still its own, and renews it (:meth:`ClaimKeeper.check`); a row lost meanwhile is not sent;
* outcomes are written only where the token still matches (:meth:`ClaimKeeper.mine`, then
  ``UPDATE … WHERE claim_token = :mine``);
* the sweep releases only claims whose heartbeat is older than the lease (:func:`release_expired`):
  a dead or frozen worker's, never a live one's.

The lease must outlast one send: the SMTP timeouts are checked against it at start-up (see
``bridge.config``), so a message sent right after a successful check is answered (or abandoned)
before anybody else may take the row.
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, bindparam, func, literal, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import Delivery, utcnow

log = logging.getLogger(__name__)

MIN_BEAT = 0.2  # seconds: the heartbeat of very short (test) leases


class ClaimLost(Exception):
    """The delivery is no longer this run's (the sweep released it, another run holds it): do not send."""


def _among(column: Any, values: Iterable[Any]) -> Any:
    return column.in_(bindparam("claim_ids", list(values), expanding=True, literal_execute=True))


class ClaimKeeper:
    """One run's claim on a chunk of deliveries: its token, heartbeat, and ownership checks.

    Use as a context manager around the sends: the heartbeat thread runs inside it.
    """

    def __init__(self, sessions: sessionmaker[Session], lease: dt.timedelta,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.sessions = sessions
        self.lease = lease
        self.token = secrets.token_hex(16)
        self._clock = clock
        self._claimed: set[int] = set()
        self._settled: set[int] = set()  # sent (or given up) but not yet recorded
        self._lock = threading.Lock()
        self._progress = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def beat(self) -> float:
        """Seconds between two heartbeats: a quarter of the lease."""
        return max(self.lease.total_seconds() / 4, MIN_BEAT)

    def claim(self, session: Session, delivery_ids: list[int]) -> set[int]:
        """Claim the ids that are pending and due; returns those this run now owns (caller commits)."""
        now = self._clock()
        d = Delivery.__table__
        claimed = set(session.connection().execute(d.update().where(
            _among(d.c.id, delivery_ids), d.c.status == "pending",
            or_(d.c.next_attempt_at.is_(None), d.c.next_attempt_at <= now),
        ).values(status="sending", claim_token=self.token, heartbeat_at=now, updated_at=now)
            .returning(d.c.id)).scalars())
        self._claimed |= claimed
        return claimed

    # --- heartbeat -------------------------------------------------------------------------------
    def __enter__(self) -> ClaimKeeper:
        self.progress()
        if self._claimed:
            self._thread = threading.Thread(target=self._run, name=f"claim-{self.token[:8]}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def progress(self) -> None:
        """The run is moving on (called before and after each send)."""
        self._progress = time.monotonic()

    def settled(self, delivery_id: int) -> None:
        """``delivery_id`` has an outcome waiting to be recorded: keep it claimed whatever happens."""
        with self._lock:
            self._settled.add(delivery_id)

    def _run(self) -> None:
        while not self._stop.wait(self.beat):
            try:
                self.renew()
            except Exception as exc:  # a database hiccup: the next beat tries again
                log.warning("delivery claim heartbeat failed (%s)", type(exc).__name__)

    def renew(self) -> int:
        """Renew the heartbeat of the rows this run still holds; returns how many.

        Stalled for a lease or more (a PDF that will not finish, a frozen thread), the run renews only
        the rows whose outcome it holds, and lets the others go to the sweep.
        """
        stalled = time.monotonic() - self._progress >= self.lease.total_seconds()
        with self._lock:
            ids = set(self._settled) if stalled else None
        if ids is not None and not ids:
            return 0
        d = Delivery.__table__
        where = [d.c.claim_token == self.token, d.c.status == "sending"]
        if ids is not None:
            where.append(_among(d.c.id, sorted(ids)))
        with self.sessions() as session:
            count = session.connection().execute(d.update().where(d.c.id.in_(_locked(*where))).values(
                heartbeat_at=self._clock())).rowcount
            session.commit()
        return count or 0

    # --- ownership -------------------------------------------------------------------------------
    def check(self, delivery_id: int, message_id: str | None = None) -> str | None:
        """Right before a send: is ``delivery_id`` still ours? Renews it and fixes its Message-ID.

        Returns the delivery's Message-ID (the stored one, or ``message_id`` stored now), so every
        attempt of a delivery sends the same one. Raises :class:`ClaimLost` when the row is gone.
        """
        self.progress()
        d = Delivery.__table__
        with self.sessions() as session:
            found = session.connection().execute(d.update().where(
                d.c.id == delivery_id, d.c.claim_token == self.token, d.c.status == "sending",
            ).values(heartbeat_at=self._clock(),
                     message_id=func.coalesce(d.c.message_id, literal(message_id, d.c.message_id.type)))
                .returning(d.c.message_id)).first()
            session.commit()
        if found is None:
            raise ClaimLost(f"delivery {delivery_id} is no longer claimed by this run")
        return found[0]

    def guard(self, delivery_id: int) -> Callable[[str | None], str | None]:
        """:meth:`check` bound to one delivery, for the channel to call right before it sends."""
        return lambda message_id: self.check(delivery_id, message_id)

    def mine(self, conn: Connection, delivery_ids: Iterable[int]) -> set[int]:
        """Of ``delivery_ids``, those still claimed by this run, locked until the caller's commit."""
        d = Delivery.__table__
        ids = sorted(set(delivery_ids))
        found = set(conn.execute(select(d.c.id).where(
            _among(d.c.id, ids), d.c.claim_token == self.token, d.c.status == "sending",
        ).order_by(d.c.id).with_for_update()).scalars())
        with self._lock:
            self._settled -= set(ids)
        return found


def release_expired(session: Session, now: dt.datetime, lease: dt.timedelta, *, released_at: dt.datetime) -> int:
    """Return to ``pending`` the claims whose heartbeat is older than ``lease``; how many.

    Rows claimed before heartbeats existed have none: their last update stands in for it.
    """
    d = Delivery.__table__
    expired = func.coalesce(d.c.heartbeat_at, d.c.updated_at) < now - lease
    result = session.connection().execute(d.update().where(
        d.c.id.in_(_locked(d.c.status == "sending", expired)), d.c.status == "sending", expired,
    ).values(status="pending", claim_token=None, heartbeat_at=None, updated_at=released_at))
    return result.rowcount or 0


def _locked(*where: Any) -> Any:
    """The ids of the rows matching ``where``, locked in id order, skipping rows locked already.

    Several rows are updated at once by the heartbeat and the sweep while a run may be writing its
    outcomes (which locks its rows in id order too): locking in one order cannot deadlock, and a row
    whose outcome is being written right now is left to that writer (PostgreSQL; SQLite has a single
    writer anyway).
    """
    d = Delivery.__table__
    return select(d.c.id).where(*where).order_by(d.c.id).with_for_update(skip_locked=True)


def stale_claims(session: Session, now: dt.datetime, stale_after: dt.timedelta) -> tuple[int, float]:
    """Claims whose heartbeat is older than ``stale_after`` (stuck chunks), and the oldest one's age in seconds."""
    d = Delivery.__table__
    beat = func.coalesce(d.c.heartbeat_at, d.c.updated_at)
    count, oldest = session.execute(select(func.count(), func.min(beat)).where(
        d.c.status == "sending", beat < now - stale_after)).one()
    age = 0.0 if oldest is None else max((now - _aware(oldest)).total_seconds(), 0.0)
    return int(count or 0), age


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
