"""Queue completions in the outbox and hand them to the sidecar, retrying with back-off.

``enqueue`` is what receivers call: a local write, no network. ``drain`` sends what is due; it runs
after commit on a background thread (``DRAIN_ON_COMMIT``) and from the ``edc_bridge_drain``
command (cron), so a crash or a sidecar outage only delays delivery. Two drains never send the same
row at once (a conditional update claims it), and the sidecar dedupes (course, learner) anyway.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from edx_xblock.client import SidecarClient, SidecarRejected, SidecarUnavailable
from edx_xblock.config import BridgeConfig, ConfigError, django_config
from edx_xblock.plugin.models import OutboxCompletion

log = logging.getLogger(__name__)

PERMANENT_STATUSES = (400, 413, 422)
LEASE = dt.timedelta(minutes=5)
_drain_lock = threading.Lock()


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def enqueue(course_id: str, learner: dict[str, Any], *, completed_at: dt.datetime,
            grade: dict[str, Any] | None = None) -> OutboxCompletion:
    """Record that a learner passed; one row per (course, learner), refreshed by later events."""
    now = timezone.now()
    with transaction.atomic():
        row, created = OutboxCompletion.objects.select_for_update().get_or_create(
            course_id=course_id, user_id=learner["id"],
            defaults={"payload": {}, "next_attempt_at": now})
        if not created and row.status == OutboxCompletion.SENT:
            return row  # handed over already; the sidecar would answer with the same credential
        payload = dict(row.payload or {})
        payload.update({"learner": learner, "passed": True,
                        "completed_at": payload.get("completed_at") or iso(completed_at)})
        if grade is not None:
            payload["grade"] = grade
        if row.status == OutboxCompletion.FAILED:
            row.attempts = 0
        row.payload, row.status, row.next_attempt_at = payload, OutboxCompletion.PENDING, now
        row.save()
    transaction.on_commit(kick)
    return row


def update_grade(course_id: str, user_id: str, grade: dict[str, Any]) -> bool:
    """Refresh the grade of a row not yet sent (grade events without a pass); True when one was found."""
    with transaction.atomic():
        row = (OutboxCompletion.objects.select_for_update()
               .filter(course_id=course_id, user_id=user_id, status=OutboxCompletion.PENDING).first())
        if row is None:
            return False
        row.payload = {**row.payload, "grade": grade}
        row.save(update_fields=["payload", "updated_at"])
        return True


def withdraw(course_id: str, user_id: str) -> bool:
    """The learner is no longer passing before the completion left: forget it."""
    deleted, _ = OutboxCompletion.objects.filter(course_id=course_id, user_id=user_id,
                                                 status=OutboxCompletion.PENDING).delete()
    return bool(deleted)


def is_queued(course_id: str, user_id: str) -> bool:
    """Whether a completion for this learner is still waiting in the outbox (the block shows 'issuing')."""
    return OutboxCompletion.objects.filter(course_id=course_id, user_id=user_id,
                                           status=OutboxCompletion.PENDING).exists()


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return f"sent {self.sent}, will retry {self.retried}, failed {self.failed}"


def _backoff(config: BridgeConfig, attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(config.retry_base_seconds * 2 ** max(attempts - 1, 0),
                                    config.retry_max_seconds))


def _claim(row: OutboxCompletion, now: dt.datetime) -> bool:
    return OutboxCompletion.objects.filter(pk=row.pk, status=OutboxCompletion.PENDING,
                                           next_attempt_at=row.next_attempt_at).update(
        next_attempt_at=now + LEASE) == 1


def drain(limit: int = 200, now: dt.datetime | None = None, config: BridgeConfig | None = None,
          client: SidecarClient | None = None) -> DrainReport:
    """Send due rows (oldest first); ``now`` lets tests and the command look past back-off delays."""
    config = config or django_config()
    client = client or SidecarClient(config)
    now = now or timezone.now()
    report = DrainReport()
    due = list(OutboxCompletion.objects.filter(status=OutboxCompletion.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "pk")[:limit])
    for row in due:
        if not _claim(row, now):
            continue
        completion = {"source": config.source, "course_id": row.course_id, **row.payload}
        row.attempts += 1
        try:
            answer = client.post_completion(completion)
        except SidecarRejected as exc:
            if exc.status in PERMANENT_STATUSES:
                _settle(row, OutboxCompletion.FAILED, _describe(exc), now)
                report.failed += 1
            else:
                _retry(row, config, f"{exc.status}: {exc.detail}", now, report)
            continue
        except SidecarUnavailable as exc:
            _retry(row, config, str(exc), now, report)
            continue
        row.credential_id = str(answer.get("id") or "")
        row.payload = {}
        _settle(row, OutboxCompletion.SENT, "", now)
        report.sent += 1
    if due:
        log.info("EDC outbox drain: %s", report)
    return report


def _describe(exc: SidecarRejected) -> str:
    fields = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
    return f"{exc.status}: {exc.detail}" + (f" ({fields})" if fields else "")


def _retry(row: OutboxCompletion, config: BridgeConfig, error: str, now: dt.datetime,
           report: DrainReport) -> None:
    if row.attempts >= config.max_attempts:
        _settle(row, OutboxCompletion.FAILED, f"gave up after {row.attempts} attempts: {error}", now)
        report.failed += 1
        return
    row.status, row.last_error = OutboxCompletion.PENDING, error
    row.next_attempt_at = now + _backoff(config, row.attempts)
    row.save(update_fields=["status", "last_error", "next_attempt_at", "attempts", "updated_at"])
    report.retried += 1


def _settle(row: OutboxCompletion, status: str, error: str, now: dt.datetime) -> None:
    row.status, row.last_error, row.next_attempt_at = status, error[:2000], now
    row.save()


def retry_failed() -> int:
    """Put permanently failed rows back in the queue (after fixing a template or the configuration)."""
    return OutboxCompletion.objects.filter(status=OutboxCompletion.FAILED).update(
        status=OutboxCompletion.PENDING, attempts=0, next_attempt_at=timezone.now())


def kick() -> threading.Thread | None:
    """Drain on a daemon thread after commit, unless one is running or DRAIN_ON_COMMIT is off."""
    try:
        config = django_config()
    except ConfigError as exc:
        log.warning("EDC outbox not drained: %s", exc)
        return None
    if not config.drain_on_commit or not _drain_lock.acquire(blocking=False):
        return None

    def run() -> None:
        from django.db import connection

        try:
            drain(config=config)
        except Exception:  # a background drain must never take anything down; rows keep the state
            log.exception("EDC outbox drain failed")
        finally:
            connection.close()
            _drain_lock.release()

    thread = threading.Thread(target=run, name="edc-outbox-drain", daemon=True)
    thread.start()
    return thread
