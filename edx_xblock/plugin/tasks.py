"""Celery tasks, run by edx-platform's own workers (LMS workers for completions, CMS workers for
templates). Receivers queue them with ``transaction.on_commit``, so a task never reads a row the
request has not committed, and the request never waits on the sidecar.

Both tasks are idempotent (the outbox row and the course's template hash are the state), acknowledge
late, have time limits, and retry with exponential back-off when the sidecar is unreachable.
"""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from edx_django_utils.monitoring import set_code_owner_attribute

from edx_xblock.client import SidecarUnavailable
from edx_xblock.config import ConfigError, django_config

log = logging.getLogger(__name__)

SOFT_TIME_LIMIT = 60
TIME_LIMIT = 90


@shared_task(bind=True, acks_late=True, max_retries=None, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=TIME_LIMIT, name="edx_xblock.plugin.tasks.send_completion")
@set_code_owner_attribute
def send_completion(self: Any, course_id: str, user_id: str) -> str:
    """Hand one learner's completion to the sidecar if Open edX still certifies them now."""
    from edx_xblock.plugin.sending import send_one

    try:
        config = django_config()
    except ConfigError as exc:
        log.error("EDC completion not sent (course %s, user %s): %s", course_id, user_id, exc)
        return "misconfigured"
    outcome = send_one(course_id, user_id, config)
    if outcome.retry_in is not None and not self.request.is_eager:  # eager runs (tests) never loop
        raise self.retry(countdown=outcome.retry_in)
    return outcome.result


@shared_task(bind=True, acks_late=True, max_retries=8, soft_time_limit=SOFT_TIME_LIMIT, time_limit=TIME_LIMIT,
             name="edx_xblock.plugin.tasks.sync_course_template")
@set_code_owner_attribute
def sync_course_template(self: Any, course_id: str) -> str:
    """Push the published course's credential template to the sidecar (Studio's workers)."""
    from edx_xblock.plugin.platform import published_credential_blocks
    from edx_xblock.plugin.publishing import sync_course

    try:
        config = django_config()
    except ConfigError as exc:
        log.error("EDC template of course %s not pushed: %s", course_id, exc)
        return "misconfigured"
    try:
        row = sync_course(course_id, published_credential_blocks(course_id), config)
    except SidecarUnavailable as exc:
        if self.request.is_eager:  # eager runs (tests) never loop; the row says "unreachable"
            return "unreachable"
        countdown = min(config.retry_base_seconds * 2 ** self.request.retries, config.retry_max_seconds)
        log.warning("EDC template of course %s not pushed yet (%s); retry in %s s", course_id, exc, countdown)
        raise self.retry(countdown=countdown) from None
    return row.status if row is not None else "no credential"
