"""The outbox of completions: written by the receivers, moved forward only by conditional updates.

A row is ``pending`` while the learner passes and it waits to be sent, ``sending`` while a task holds
it (``claim`` names the task run), then ``sent``, ``failed`` (the sidecar refused it) or
``ineligible`` (the enrollment mode earns no credential). ``withdrawn`` means the learner fell below
passing before it left. Every transition is an ``UPDATE … WHERE status = …`` (and ``claim = …``
for the sending task), so a withdrawal racing a send either wins — and nothing is sent — or comes
after the hand-over, and nothing brings a withdrawn row back.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from edx_xblock.plugin.models import CourseCredential, OutboxCompletion

LEASE = dt.timedelta(minutes=10)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def course_issues(template_course_id: str) -> bool:
    """Whether Studio published a credential for this course (else passing learners are not recorded)."""
    row = CourseCredential.objects.filter(course_id=template_course_id).first()
    return row is not None and row.status != CourseCredential.REMOVED


def record_passing(course_id: str, template_course_id: str, learner: dict[str, Any], *,
                   send_after: dt.datetime, on_commit: Callable[[], None]) -> OutboxCompletion | None:
    """The learner passes now: (re)open the row unless it was already handed over; ``on_commit`` queues the send."""
    now = timezone.now()
    payload = {"learner": learner, "passed": True, "completed_at": iso(now)}
    with transaction.atomic():
        try:
            row, created = OutboxCompletion.objects.select_for_update().get_or_create(
                course_id=course_id, user_id=learner["id"],
                defaults={"payload": payload, "template_course_id": template_course_id,
                          "next_attempt_at": send_after})
        except IntegrityError:  # a concurrent event created it first
            row, created = OutboxCompletion.objects.select_for_update().get(
                course_id=course_id, user_id=learner["id"]), False
        if not created:
            if row.status in (OutboxCompletion.SENT, OutboxCompletion.SENDING):
                return row  # handed over (or being handed over); the sidecar dedupes anyway
            keep = {k: v for k, v in (row.payload or {}).items() if k == "grade"}
            reopened = row.status != OutboxCompletion.PENDING
            row.payload = {**payload, **keep,
                           "completed_at": (row.payload or {}).get("completed_at") or payload["completed_at"]}
            row.template_course_id = template_course_id
            row.status, row.next_attempt_at, row.claim = OutboxCompletion.PENDING, send_after, ""
            if reopened:
                row.attempts, row.last_error = 0, ""
            row.save()
    transaction.on_commit(on_commit)
    return row


def withdraw(course_id: str, user_id: str, reason: str) -> bool:
    """The learner is failing: a row not yet handed over (pending, or held by a task) is withdrawn."""
    changed = OutboxCompletion.objects.filter(course_id=course_id, user_id=user_id,
                                              status__in=OutboxCompletion.OPEN).update(
        status=OutboxCompletion.WITHDRAWN, claim="", last_error=reason[:2000], payload={},
        updated_at=timezone.now())
    return bool(changed)


def update_grade(course_id: str, user_id: str, grade: dict[str, Any]) -> bool:
    """Refresh the grade of a row not yet sent; never opens one (``passed_timestamp`` is sticky)."""
    with transaction.atomic():
        row = (OutboxCompletion.objects.select_for_update()
               .filter(course_id=course_id, user_id=user_id, status=OutboxCompletion.PENDING).first())
        if row is None:
            return False
        row.payload = {**row.payload, "grade": grade}
        row.save(update_fields=["payload", "updated_at"])
        return True


def claim(course_id: str, user_id: str, now: dt.datetime) -> tuple[OutboxCompletion, str] | None:
    """Take a due pending row (or one whose sending task died) for one send; None when there is none."""
    token = secrets.token_hex(8)
    due = OutboxCompletion.objects.filter(course_id=course_id, user_id=user_id, next_attempt_at__lte=now)
    taken = (due.filter(status=OutboxCompletion.PENDING).update(
        status=OutboxCompletion.SENDING, claim=token, next_attempt_at=now + LEASE, updated_at=now)
        or due.filter(status=OutboxCompletion.SENDING).update(claim=token, next_attempt_at=now + LEASE,
                                                              updated_at=now))
    if not taken:
        return None
    return OutboxCompletion.objects.get(course_id=course_id, user_id=user_id), token


def settle(row: OutboxCompletion, token: str, **changes: Any) -> bool:
    """Move a claimed row on; False when it was withdrawn (or re-claimed) meanwhile."""
    changes.setdefault("claim", "")
    changes["updated_at"] = timezone.now()
    if "last_error" in changes:
        changes["last_error"] = str(changes["last_error"])[:2000]
    return bool(OutboxCompletion.objects.filter(pk=row.pk, status=OutboxCompletion.SENDING,
                                                claim=token).update(**changes))


def release(row: OutboxCompletion, token: str, error: str, next_attempt_at: dt.datetime) -> bool:
    """Give a claimed row back to the queue (a passing failure); counts the attempt."""
    return settle(row, token, status=OutboxCompletion.PENDING, last_error=error, attempts=row.attempts + 1,
                  next_attempt_at=next_attempt_at)


def state_for(course_id: str, user_id: str) -> OutboxCompletion | None:
    """The learner's row, for the block (no network)."""
    return OutboxCompletion.objects.filter(course_id=course_id, user_id=user_id).first()


def requeue(failed: bool = False) -> list[tuple[str, str]]:
    """Pending rows whose turn came (lost messages), and failed ones when asked: (course, user) to send."""
    now = timezone.now()
    if failed:
        OutboxCompletion.objects.filter(status=OutboxCompletion.FAILED).update(
            status=OutboxCompletion.PENDING, attempts=0, next_attempt_at=now, updated_at=now)
    rows = OutboxCompletion.objects.filter(status__in=OutboxCompletion.OPEN, next_attempt_at__lte=now)
    return list(rows.values_list("course_id", "user_id"))
