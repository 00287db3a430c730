"""LMS sources: last contact, request error rate, failed credentials, and HMAC key rotation."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, current_app, request
from sqlalchemy import func, select

from bridge import audit
from bridge.api.common import runtime
from bridge.auth import generate_api_key, hash_api_key
from bridge.console.nav import N_, Section, register_section
from bridge.console.roles import SOURCES_MANAGE, SOURCES_READ
from bridge.console.web import console_blueprint, db, identity, render, requires
from bridge.db.models import Credential, Source, SourceTraffic, utcnow

bp = console_blueprint("console_sources", __name__)
register_section(Section("sources", N_("Sources"), "console_sources.index", SOURCES_READ, 50))

MAX_GRACE_HOURS = 24 * 30


def overview(now: dt.datetime | None = None) -> list[dict[str, Any]]:
    now = now or utcnow()
    session = db()
    current_app.extensions["edc_traffic"].flush()
    day_ago, week_ago = now - dt.timedelta(hours=24), now - dt.timedelta(days=7)
    traffic = {name: (requests or 0, errors or 0, last) for name, requests, errors, last in session.execute(
        select(SourceTraffic.source, func.sum(SourceTraffic.requests), func.sum(SourceTraffic.errors),
               func.max(SourceTraffic.last_contact_at)).where(SourceTraffic.hour >= day_ago.replace(
                   minute=0, second=0, microsecond=0)).group_by(SourceTraffic.source))}
    ever = dict(session.execute(select(SourceTraffic.source, func.max(SourceTraffic.last_contact_at))
                                .group_by(SourceTraffic.source)).all())
    last_errors = {}
    for source, error in session.execute(select(SourceTraffic.source, SourceTraffic.last_error)
                                         .where(SourceTraffic.last_error.is_not(None))
                                         .order_by(SourceTraffic.hour)):
        last_errors[source] = error
    credentials: dict[str, dict[str, int]] = {}
    for source, status, count in session.execute(
            select(Credential.source, Credential.status, func.count()).where(Credential.created_at >= week_ago)
            .group_by(Credential.source, Credential.status)):
        credentials.setdefault(source, {})[status] = count
    rows = []
    for src in session.scalars(select(Source).order_by(Source.name)):
        requests, errors, _ = traffic.get(src.name, (0, 0, None))
        issued = credentials.get(src.name, {})
        total = sum(issued.values())
        rows.append({"source": src, "last_contact": ever.get(src.name), "requests": requests, "errors": errors,
                     "error_rate": round(100.0 * errors / requests, 1) if requests else None,
                     "last_error": last_errors.get(src.name), "credentials": total,
                     "failed": issued.get("failed", 0),
                     "previous_active": bool(src.previous_key_until and src.previous_key_until > now)})
    return rows


@bp.get("/sources")
@requires(SOURCES_READ)
def index(status: int = 200, **context: Any) -> Response:
    return render("sources.html", status, rows=overview(), can_manage=identity().can(SOURCES_MANAGE),
                  max_grace=MAX_GRACE_HOURS, **context)


@bp.post("/sources/<name>/rotate-key")
@requires(SOURCES_MANAGE)
def rotate(name: str) -> Response:
    """A new API key (shown once); the old one keeps signing for the chosen number of hours."""
    raw = (request.form.get("grace_hours") or "24").strip()
    if not raw.isdigit() or int(raw) > MAX_GRACE_HOURS:
        return index(422, problem="grace")
    grace = int(raw)
    session = db()
    src = session.scalar(select(Source).where(Source.name == name))
    if src is None:
        return index(404, problem="unknown")
    key = generate_api_key()
    now = utcnow()
    src.previous_key_hash = src.key_hash if grace else None
    src.previous_key_until = now + dt.timedelta(hours=grace) if grace else None
    src.key_hash, src.key_rotated_at = hash_api_key(key), now
    session.commit()
    audit.record(runtime().sessions, "source.rotate-key", target_type="source", target_id=name,
                 detail={"previous_key_valid_hours": grace})
    return index(new_key={"source": name, "key": key, "grace": grace})
