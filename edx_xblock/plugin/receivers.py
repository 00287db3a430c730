"""Receivers of openedx-events signals; wired by the plugin framework (see apps.py).

Each one only writes the outbox (no network) and never raises: a bug or a bad event is logged
and the LMS request carries on. Course and user ids are logged, never names or emails.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.utils import timezone

from edx_xblock.config import ConfigError, django_config
from edx_xblock.plugin import outbox
from edx_xblock.plugin.learner import learner_from_event, learner_from_user_id

log = logging.getLogger(__name__)


def _never_raise(func: Callable[..., None]) -> Callable[..., None]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:  # the LMS must not fail because of the bridge
            log.exception("EDC bridge receiver %s failed; the event was not queued", func.__name__)
    return wrapper


def _language() -> str:
    try:
        return django_config().default_language
    except ConfigError:
        return "en"


def _percent_grade(value: Any) -> dict[str, Any] | None:
    """Open edX grades are fractions (0.87); the completion wants a score out of 100."""
    try:
        fraction = float(value)
    except (TypeError, ValueError):
        return None
    if not 0 <= fraction <= 1:
        return None
    return {"score": round(fraction * 100, 2), "max": 100}


@_never_raise
def passing_status_updated(course_passing_status: Any, **_kwargs: Any) -> None:
    """COURSE_PASSING_STATUS_UPDATED: passing queues the completion, failing withdraws an unsent one."""
    data = course_passing_status
    course = str(data.course.course_key)
    if data.is_passing:
        outbox.enqueue(course, learner_from_event(data.user, _language()), completed_at=timezone.now())
        log.info("EDC completion queued: course %s, user %s", course, data.user.id)
    elif outbox.withdraw(course, str(data.user.id)):
        log.info("EDC completion withdrawn (no longer passing): course %s, user %s", course, data.user.id)


@_never_raise
def grade_summary_changed(grade: Any, **_kwargs: Any) -> None:
    """PERSISTENT_GRADE_SUMMARY_CHANGED: the grade; a pass (``passed_timestamp``) queues the completion."""
    course, user_id = str(grade.course.course_key), str(grade.user_id)
    value = _percent_grade(grade.percent_grade)
    if value is not None and grade.letter_grade:
        value["text"] = str(grade.letter_grade)[:200]
    passed_at = grade.passed_timestamp
    if passed_at is None:
        if value is not None:
            outbox.update_grade(course, user_id, value)
        return
    learner = learner_from_user_id(grade.user_id, _language())
    if learner is None:
        log.warning("EDC: user %s of course %s not found; completion not queued", user_id, course)
        return
    if isinstance(passed_at, dt.datetime) and timezone.is_naive(passed_at):
        passed_at = timezone.make_aware(passed_at, dt.UTC)
    outbox.enqueue(course, learner, completed_at=passed_at, grade=value)
    log.info("EDC completion queued from grade: course %s, user %s", course, user_id)


@_never_raise
def certificate_created(certificate: Any, **_kwargs: Any) -> None:
    """CERTIFICATE_CREATED: a certificate means a pass; its grade completes the completion."""
    course = str(certificate.course.course_key)
    outbox.enqueue(course, learner_from_event(certificate.user, _language()), completed_at=timezone.now(),
                   grade=_percent_grade(certificate.grade))
    log.info("EDC completion queued from certificate: course %s, user %s", course, certificate.user.id)
