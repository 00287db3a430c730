"""Read models of the console: credential search, a credential's timeline, dashboard figures.

Pages, the console API and the exports all read through here, so a filter means the same thing
everywhere and the course scope of a course team is applied in one place.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from bridge.console.roles import CREDENTIALS_READ, Identity
from bridge.db.models import (
    CREDENTIAL_STATUSES,
    AuditEntry,
    Batch,
    CourseTemplate,
    Credential,
    Delivery,
    DeliveryAttempt,
    utcnow,
)

PER_PAGE = 50
MAX_TEXT = 200


class BadFilter(ValueError):
    """A search filter is malformed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class CredentialFilter:
    q: str | None = None          # learner id, name or e-mail (contains, case-insensitive)
    source: str | None = None
    course_id: str | None = None
    status: str | None = None
    since: dt.date | None = None  # created on or after
    until: dt.date | None = None  # created on or before
    batch_id: str | None = None

    @classmethod
    def from_args(cls, args: Any) -> CredentialFilter:
        def text(name: str) -> str | None:
            value = (args.get(name) or "").strip()
            if len(value) > MAX_TEXT:
                raise BadFilter(name, f"at most {MAX_TEXT} characters")
            return value or None

        status = text("status")
        if status is not None and status not in CREDENTIAL_STATUSES:
            raise BadFilter("status", f"one of {', '.join(CREDENTIAL_STATUSES)}")
        since, until = _date(args, "since"), _date(args, "until")
        if since and until and since > until:
            raise BadFilter("until", "must not be before 'since'")
        return cls(q=text("q"), source=text("source"), course_id=text("course_id"), status=status,
                   since=since, until=until, batch_id=text("batch_id"))

    def as_args(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in vars(self).items() if v}


def _date(args: Any, name: str) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(name, "a date as YYYY-MM-DD") from None


def _learner(key: str) -> Any:
    return Credential.completion["learner"][key].as_string()


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def credential_query(who: Identity, flt: CredentialFilter, permission: str = CREDENTIALS_READ) -> Select[Any]:
    query = select(Credential)
    scope = who.course_filter(permission, Credential.source, Credential.course_id)
    if scope is not None:
        query = query.where(scope)
    if flt.q:
        needle = f"%{flt.q.lower()}%"
        name = func.lower(func.coalesce(_learner("given_name"), "") + " " + func.coalesce(_learner("family_name"), ""))
        query = query.where(or_(Credential.learner_id == flt.q, func.lower(_learner("email")).like(needle),
                                name.like(needle), Credential.id == flt.q))
    for column in ("source", "course_id", "status", "batch_id"):
        value = getattr(flt, column)
        if value:
            query = query.where(getattr(Credential, column) == value)
    if flt.since:
        query = query.where(Credential.created_at >= _day_start(flt.since))
    if flt.until:
        query = query.where(Credential.created_at < _day_start(flt.until + dt.timedelta(days=1)))
    return query


def search(session: Session, who: Identity, flt: CredentialFilter, page: int = 1,
           per_page: int = PER_PAGE) -> tuple[list[Credential], int]:
    query = credential_query(who, flt)
    total = session.scalar(select_count(query)) or 0
    rows = list(session.scalars(query.order_by(Credential.created_at.desc(), Credential.id)
                                .offset((page - 1) * per_page).limit(per_page)))
    return rows, total


def select_count(query: Select[Any]) -> Select[Any]:
    return select(func.count()).select_from(query.order_by(None).subquery())


def iterate(session: Session, who: Identity, flt: CredentialFilter, limit: int,
            permission: str = CREDENTIALS_READ) -> Iterator[Credential]:
    """Rows for an export, oldest first, streamed in chunks."""
    query = credential_query(who, flt, permission).order_by(Credential.created_at, Credential.id).limit(limit)
    yield from session.scalars(query.execution_options(yield_per=500))


def learner(cred: Credential) -> dict[str, str]:
    person = (cred.completion or {}).get("learner") or {}
    return {"id": cred.learner_id, "name": f"{person.get('given_name', '')} {person.get('family_name', '')}".strip(),
            "email": person.get("email") or "", "language": person.get("language") or ""}


def course_titles(session: Session, keys: set[tuple[str, str]], lang: str) -> dict[tuple[str, str], str]:
    titles: dict[tuple[str, str], str] = {}
    if not keys:
        return titles
    rows = session.execute(select(CourseTemplate.source, CourseTemplate.course_id, CourseTemplate.template).where(
        or_(*(and_(CourseTemplate.source == s, CourseTemplate.course_id == c) for s, c in keys))))
    for source, course, template in rows:
        title = (template or {}).get("title") or {}
        titles[(source, course)] = title.get(lang) or title.get("en") or next(iter(title.values()), course)
    return titles


@dataclass(frozen=True)
class Event:
    at: dt.datetime
    kind: str                 # received | sealed | failed | delivery | revoked | action | pending
    title: str                # English msgid, translated by the page
    detail: str | None = None
    outcome: str | None = None
    actor: str | None = None


def timeline(session: Session, cred: Credential) -> list[Event]:
    """received → assembled/sealed → each delivery attempt with its answer, plus every staff action."""
    events = [Event(cred.created_at, "received", "Completion received",
                    f"{cred.source} / {cred.course_id}" + (f", batch {cred.batch_id}" if cred.batch_id else ""))]
    if cred.status == "skipped":
        events.append(Event(cred.updated_at, "skipped", "Not issued (course policy)", cred.status_reason))
    if cred.sealed_at:
        events.append(Event(cred.sealed_at, "sealed", "Assembled and sealed",
                            f"template version {cred.template_version}" if cred.template_version else None))
    if cred.error and cred.sealed_at is None:
        events.append(Event(cred.updated_at, "failed" if cred.status == "failed" else "retrying",
                            "Issuing failed" if cred.status == "failed" else "Issuing attempt failed, retrying",
                            cred.error, outcome=f"attempt {cred.attempts}"))
    for attempt in session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.credential_id == cred.id)):
        answer = attempt.error or ", ".join(f"{k}: {v}" for k, v in (attempt.result or {}).items() if v)
        events.append(Event(attempt.at, "delivery", f"Delivery by {attempt.channel}", answer or None,
                            outcome=f"{attempt.status} (attempt {attempt.attempt})"))
    for delivery in cred.deliveries:
        if delivery.status in ("pending", "sending"):
            when = delivery.next_attempt_at or delivery.updated_at
            events.append(Event(when, "pending", f"Delivery by {delivery.channel} pending",
                                delivery.last_error, outcome=delivery.status))
    if cred.revoked_at:
        events.append(Event(cred.revoked_at, "revoked", "Revoked", cred.status_reason))
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.target_type == "credential",
                                                          AuditEntry.target_id == cred.id)):
        detail = ", ".join(f"{k}: {v}" for k, v in (entry.detail or {}).items())
        events.append(Event(entry.at, "action", entry.action, detail or None, outcome=entry.outcome,
                            actor=entry.actor_name))
    return sorted(events, key=lambda e: e.at)


def dashboard(session: Session, who: Identity, now: dt.datetime | None = None) -> dict[str, Any]:
    """Issued today and this week, pending, failed with their top reasons, delivery failures."""
    now = now or utcnow()
    today = _day_start(now.date())
    week = today - dt.timedelta(days=today.weekday())
    scope = who.course_filter(CREDENTIALS_READ, Credential.source, Credential.course_id)

    def count(*conditions: Any) -> int:
        query = select(func.count()).select_from(Credential).where(*conditions)
        return session.scalar(query.where(scope) if scope is not None else query) or 0

    def top(column: Any, *conditions: Any, base: Any = Credential) -> list[tuple[str, int]]:
        query = select(column, func.count()).select_from(base).where(*conditions)
        if scope is not None:
            query = query.where(scope)
        query = query.group_by(column).order_by(func.count().desc()).limit(5)
        return [(str(reason or "—")[:300], n) for reason, n in session.execute(query)]

    failed_deliveries = select(func.count()).select_from(Delivery).join(Credential).where(Delivery.status == "failed")
    if scope is not None:
        failed_deliveries = failed_deliveries.where(scope)
    return {
        "issued_today": count(Credential.sealed_at >= today),
        "issued_week": count(Credential.sealed_at >= week),
        "pending": count(Credential.status.in_(("received", "assembled"))),
        "awaiting_delivery": count(Credential.status == "sealed"),
        "failed": count(Credential.status == "failed"),
        # A credential failed at delivery has no issuing error: its failed delivery's answer is the reason.
        "failed_reasons": top(func.coalesce(Credential.error, select(func.min(Delivery.last_error)).where(
            Delivery.credential_id == Credential.id, Delivery.status == "failed").scalar_subquery()),
            Credential.status == "failed"),
        "delivery_failures": session.scalar(failed_deliveries) or 0,
        "delivery_reasons": top(Delivery.last_error, Delivery.status == "failed",
                                base=Delivery.__table__.join(Credential.__table__)),
    }


def batches(session: Session, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[dict[str, Any]], int]:
    """Batches, newest first, with their progress counted from their credentials."""
    total = session.scalar(select(func.count()).select_from(Batch)) or 0
    rows = list(session.scalars(select(Batch).order_by(Batch.created_at.desc()).offset((page - 1) * per_page)
                                .limit(per_page)))
    counts: dict[str, dict[str, int]] = {}
    if rows:
        for batch_id, status, n in session.execute(select(Credential.batch_id, Credential.status, func.count())
                                                   .where(Credential.batch_id.in_([b.id for b in rows]))
                                                   .group_by(Credential.batch_id, Credential.status)):
            counts.setdefault(batch_id, {})[status] = n
    items = []
    for batch in rows:
        by_status = counts.get(batch.id, {})
        done = sum(n for s, n in by_status.items() if s not in ("received", "assembled", "sealed"))
        items.append({"batch": batch, "by_status": by_status, "done": done,
                      "percent": int(100 * done / batch.accepted) if batch.accepted else 100})
    return items, total
