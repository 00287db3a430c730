"""History the staff console shows: every stored template version and every delivery attempt.

Template revisions are written by mapper events on ``CourseTemplate``, so every writer (the HTTP
API, the console, a migration script using the ORM) leaves one, in the same transaction as the
change, without each having to remember it. Who made the change is asked from
:data:`actor_resolver`, which the web app points at the signed-in person or the API caller.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event, insert

from bridge.db.models import CourseTemplate, DeliveryAttempt, TemplateRevision, utcnow

actor_resolver: Callable[[], str] = lambda: "system"  # noqa: E731 - replaced by the web app
"""Who is acting right now, as shown in the history ("Camille Martin (console)", "source moodle-main")."""


def _record_revision(_mapper: Any, connection: Connection, target: CourseTemplate) -> None:
    connection.execute(insert(TemplateRevision.__table__).values(
        source=target.source, course_id=target.course_id, version=target.version, template=target.template,
        policy=target.policy, changed_at=target.updated_at or utcnow(), changed_by=actor_resolver()[:200]))


event.listen(CourseTemplate, "after_insert", _record_revision)
event.listen(CourseTemplate, "after_update", _record_revision)


@dataclass(frozen=True)
class AttemptRecord:
    """What one delivery attempt led to, for the credential's timeline."""

    credential_id: str
    channel: str
    attempt: int
    status: str
    error: str | None
    result: dict[str, Any] | None


def record_delivery_attempts(connection: Connection, attempts: Sequence[AttemptRecord]) -> None:
    """Append the attempts in the caller's transaction (one multi-row INSERT)."""
    if not attempts:
        return
    now = utcnow()
    connection.execute(insert(DeliveryAttempt.__table__), [
        {"credential_id": a.credential_id, "channel": a.channel, "attempt": a.attempt, "at": now,
         "status": a.status, "error": a.error, "result": a.result} for a in attempts])
