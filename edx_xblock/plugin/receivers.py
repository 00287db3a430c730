"""LMS receivers of openedx-events signals (wired by the plugin framework, see apps.py).

edx-platform recomputes a course grade, saves it (PERSISTENT_GRADE_SUMMARY_CHANGED, whose
``passed_timestamp`` is set at the first pass and never cleared), then tells whether the learner
passes *now* (COURSE_PASSING_STATUS_UPDATED, or CCX_COURSE_PASSING_STATUS_UPDATED in a CCX). So
only the passing status opens or withdraws a completion; the grade summary only refreshes the grade
of one still waiting. Receivers write the outbox and queue the send on commit; they never call the
sidecar and never raise. Course and user ids are logged, never names or emails.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.utils import timezone

from edx_xblock.config import ConfigError, django_config
from edx_xblock.keys import template_course_id
from edx_xblock.plugin import outbox
from edx_xblock.plugin.learner import learner_from_event

log = logging.getLogger(__name__)


def _never_raise(func: Callable[..., None]) -> Callable[..., None]:
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except Exception:  # the LMS must not fail because of the bridge
            log.exception("EDC bridge receiver %s failed; the event was not recorded", func.__name__)
    return wrapper


def queue_send(course_id: str, user_id: str, delay: int) -> Callable[[], None]:
    """What runs after commit: the Celery task on edx-platform's workers."""
    def send() -> None:
        from edx_xblock.plugin.tasks import send_completion

        send_completion.apply_async(args=(course_id, user_id), countdown=delay)
    return send


def _passing_status(course_key: Any, data: Any) -> None:
    course, user_id = str(course_key), str(data.user.id)
    template_course = template_course_id(course_key)
    if not data.is_passing:
        if outbox.withdraw(course, user_id, "no longer passing (COURSE_PASSING_STATUS_UPDATED)"):
            log.info("EDC completion withdrawn (no longer passing): course %s, user %s", course, user_id)
        return
    if not outbox.course_issues(template_course):
        return  # no credential published in this course
    try:
        config = django_config()
    except ConfigError as exc:
        log.error("EDC completion not recorded (course %s, user %s): %s", course, user_id, exc)
        return
    send_after = timezone.now() + dt.timedelta(seconds=config.send_delay_seconds)
    learner = learner_from_event(data.user, config.default_language)
    outbox.record_passing(course, template_course, learner, send_after=send_after,
                          on_commit=queue_send(course, user_id, config.send_delay_seconds))
    log.info("EDC completion recorded: course %s, user %s", course, user_id)


@_never_raise
def passing_status_updated(course_passing_status: Any, **_kwargs: Any) -> None:
    """COURSE_PASSING_STATUS_UPDATED (openedx-events >= 9.10): passing opens, failing withdraws."""
    _passing_status(course_passing_status.course.course_key, course_passing_status)


@_never_raise
def ccx_passing_status_updated(course_passing_status: Any, **_kwargs: Any) -> None:
    """CCX_COURSE_PASSING_STATUS_UPDATED: the same for a CCX (its own key; the template is the master's)."""
    _passing_status(course_passing_status.course.ccx_course_key, course_passing_status)


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
def grade_summary_changed(grade: Any, **_kwargs: Any) -> None:
    """PERSISTENT_GRADE_SUMMARY_CHANGED: refresh the grade of a waiting completion; never opens one."""
    value = _percent_grade(grade.percent_grade)
    if value is None:
        return
    if grade.letter_grade:
        value["text"] = str(grade.letter_grade)[:200]
    outbox.update_grade(str(grade.course.course_key), str(grade.user_id), value)
