"""Last contact and error rate of each LMS source, counted from the requests it makes.

Every response to a request naming a source (``X-EDC-Source``) is counted in this process and
written to ``source_traffic`` (per source and hour) at most every few seconds, so the intake path
pays a dictionary update, not a database write. Names that are not registered sources are dropped
at the write, so forged headers cannot fill the table.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from flask import Flask, Response, request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import Source, SourceTraffic, utcnow

FLUSH_EVERY = 5.0


@dataclass
class _Tally:
    requests: int = 0
    errors: int = 0
    last_contact: dt.datetime | None = None
    last_error: str | None = None


class TrafficCounter:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._tallies: dict[tuple[str, dt.datetime], _Tally] = {}
        self._flushed = time.monotonic()

    def count(self, source: str, status: int, what: str) -> None:
        now = utcnow()
        hour = now.replace(minute=0, second=0, microsecond=0)
        with self._lock:
            tally = self._tallies.setdefault((source[:64], hour), _Tally())
            tally.requests += 1
            tally.last_contact = now
            if status >= 400:
                tally.errors += 1
                tally.last_error = f"{status} {what}"[:300]
            due = time.monotonic() - self._flushed >= FLUSH_EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            tallies, self._tallies = self._tallies, {}
            self._flushed = time.monotonic()
        if not tallies:
            return
        with self._sessions() as session:
            known = set(session.scalars(select(Source.name).where(Source.name.in_({s for s, _ in tallies}))))
            for (source, hour), tally in tallies.items():
                if source in known:
                    _add(session, source, hour, tally)
            session.commit()

    def install(self, app: Flask) -> None:
        @app.after_request
        def _count(response: Response) -> Response:
            source = request.headers.get("X-EDC-Source", "").strip()
            if source and request.path.startswith("/api/"):
                self.count(source, response.status_code, f"{request.method} {request.path}")
            return response


def _add(session: Session, source: str, hour: dt.datetime, tally: _Tally) -> None:
    table = SourceTraffic.__table__
    values = {"requests": table.c.requests + tally.requests, "errors": table.c.errors + tally.errors,
              "last_contact_at": tally.last_contact}
    if tally.last_error:
        values["last_error"] = tally.last_error
    changed = session.execute(update(table).where(table.c.source == source, table.c.hour == hour)
                              .values(**values)).rowcount
    if changed:
        return
    try:
        with session.begin_nested():
            session.add(SourceTraffic(source=source, hour=hour, requests=tally.requests, errors=tally.errors,
                                      last_contact_at=tally.last_contact, last_error=tally.last_error))
    except IntegrityError:  # another process inserted the hour first
        session.execute(update(table).where(table.c.source == source, table.c.hour == hour).values(**values))
