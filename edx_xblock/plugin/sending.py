"""One completion's way out: re-check the learner against Open edX, then hand it to the sidecar.

Passing is decided when the send runs, from the grades API — never from ``passed_timestamp``, which
edx-platform sets at the first pass and never clears — and only certificate-eligible enrollments
earn a credential. A row withdrawn meanwhile is never sent (see outbox.py for the state machine).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.utils import timezone

from edx_xblock.client import SidecarClient, SidecarRejected, SidecarUnavailable
from edx_xblock.config import BridgeConfig
from edx_xblock.plugin import outbox, platform
from edx_xblock.plugin.models import CourseCredential, OutboxCompletion

log = logging.getLogger(__name__)

# 409: the learner's credential was sealed from a different completion (the problem names it); sending
# again cannot change that, re-issuing it in the sidecar does.
PERMANENT_STATUSES = (400, 404, 409, 413, 422)


@dataclass(frozen=True)
class Outcome:
    """What the task reports; ``retry_in`` (seconds) asks Celery to run it again later."""

    result: str
    retry_in: int | None = None


def backoff(config: BridgeConfig, attempts: int) -> int:
    return min(config.retry_base_seconds * 2 ** max(attempts - 1, 0), config.retry_max_seconds)


def describe(exc: SidecarRejected) -> str:
    """The refusal with the fields named (the sidecar's messages name fields, not values)."""
    fields = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
    return f"{exc.status}: {exc.detail}" + (f" ({fields})" if fields else "")


def _grade(standing: platform.Standing) -> dict[str, object] | None:
    if standing.percent is None or not 0 <= standing.percent <= 1:
        return None
    grade: dict[str, object] = {"score": round(standing.percent * 100, 2), "max": 100}
    if standing.letter_grade:
        grade["text"] = standing.letter_grade[:200]
    return grade


def send_one(course_id: str, user_id: str, config: BridgeConfig, now: dt.datetime | None = None,
             client: SidecarClient | None = None) -> Outcome:
    now = now or timezone.now()
    row = outbox.state_for(course_id, user_id)
    if row is None or row.status not in OutboxCompletion.OPEN:
        return Outcome(f"nothing to send ({row.status if row else 'no row'})")
    if row.status == OutboxCompletion.PENDING and row.next_attempt_at > now:
        return Outcome("not due yet", retry_in=max(1, int((row.next_attempt_at - now).total_seconds()) + 1))
    claimed = outbox.claim(course_id, user_id, now)
    if claimed is None:
        return Outcome("taken by another run")
    row, token = claimed

    course = CourseCredential.objects.filter(course_id=row.template_course_id).first()
    if course is None or course.status == CourseCredential.REMOVED:
        outbox.settle(row, token, status=OutboxCompletion.WITHDRAWN, payload={},
                      last_error="the course no longer has a published credential")
        return Outcome("withdrawn: no credential in the course")
    if not course.issues:
        wait = backoff(config, row.attempts + 1)
        outbox.release(row, token, f"waiting for the course's template ({course.status})",
                       now + dt.timedelta(seconds=wait))
        return Outcome("waiting for the template", retry_in=wait)

    payload = dict(row.payload)
    try:
        standing = platform.standing(user_id, course_id)
    except platform.PlatformUnavailable as exc:
        log.warning("EDC: %s; sending on the events' word", exc)
        standing = None
    if standing is not None:
        if not standing.exists or not standing.passing:
            outbox.settle(row, token, status=OutboxCompletion.WITHDRAWN, payload={},
                          last_error="not passing when the completion was about to be sent")
            log.info("EDC completion withdrawn at send time (not passing): course %s, user %s", course_id, user_id)
            return Outcome("withdrawn: not passing")
        if not standing.enrolled or not platform.mode_earns_credential(standing.mode, config.eligible_modes):
            outbox.settle(row, token, status=OutboxCompletion.INELIGIBLE, payload={},
                          last_error=f"the enrollment mode {standing.mode or '(none)'!r} does not earn a credential")
            return Outcome("ineligible mode")
        grade = _grade(standing)
        if grade is not None:
            payload["grade"] = grade
    learner = dict(payload.get("learner") or {})
    learner["language"] = platform.language_preference(user_id, learner.get("language") or config.default_language)
    completion = {"source": config.source, "course_id": row.template_course_id, **payload, "learner": learner}
    try:
        answer = (client or SidecarClient(config)).post_completion(completion)
    except SidecarRejected as exc:
        if exc.status in PERMANENT_STATUSES:
            outbox.settle(row, token, status=OutboxCompletion.FAILED, attempts=row.attempts + 1,
                          last_error=describe(exc))
            log.warning("EDC completion refused by the sidecar: course %s, user %s (%s)", course_id, user_id,
                        exc.status)
            return Outcome("refused")
        return _retry(row, token, config, f"{exc.status}: {exc.detail}", now)
    except SidecarUnavailable as exc:
        return _retry(row, token, config, str(exc), now)
    if not outbox.settle(row, token, status=OutboxCompletion.SENT, payload={}, last_error="",
                         attempts=row.attempts + 1, credential_id=str(answer.get("id") or "")):
        OutboxCompletion.objects.filter(pk=row.pk).update(credential_id=str(answer.get("id") or ""))
        log.warning("EDC: course %s, user %s fell below passing while the completion was being sent; "
                    "the sidecar holds credential %s (revoke it there if needed)", course_id, user_id,
                    answer.get("id"))
        return Outcome("sent, then withdrawn")
    log.info("EDC completion sent: course %s, user %s", course_id, user_id)
    return Outcome("sent")


def _retry(row: OutboxCompletion, token: str, config: BridgeConfig, error: str, now: dt.datetime) -> Outcome:
    attempts = row.attempts + 1
    if attempts >= config.max_attempts:
        outbox.settle(row, token, status=OutboxCompletion.FAILED, attempts=attempts,
                      last_error=f"gave up after {attempts} attempts: {error}")
        return Outcome("gave up")
    wait = backoff(config, attempts)
    outbox.release(row, token, error, now + dt.timedelta(seconds=wait))
    return Outcome("will retry", retry_in=wait)
