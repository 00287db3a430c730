"""Studio (CMS) receivers: a publish that may change the course's credential queues the template push.

``xmodule.modulestore.django.COURSE_PUBLISHED`` (edx-platform's own signal, sent after every publish
of a course's content, including deletions of sections that take effect at once), and the
openedx-events XBLOCK_PUBLISHED / XBLOCK_DELETED (openedx-events >= 4.1) for a credential block. The
push itself runs on Studio's Celery workers after commit and reads the published branch, so drafts
never reach the sidecar.
"""
from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from edx_xblock.plugin.platform import BLOCK_TYPE

log = logging.getLogger(__name__)


def _queue(course_key: Any) -> None:
    from opaque_keys.edx.locator import CourseLocator

    if not isinstance(course_key, CourseLocator):
        return  # content libraries hold no credential

    def push() -> None:
        from edx_xblock.plugin.tasks import sync_course_template

        sync_course_template.delay(str(course_key))
    transaction.on_commit(push)


def course_published(sender: Any, course_key: Any, **_kwargs: Any) -> None:
    """COURSE_PUBLISHED (SignalHandler.course_published)."""
    try:
        _queue(course_key)
    except Exception:  # Studio must not fail because of the bridge
        log.exception("EDC: template push for course %s not queued", course_key)


def xblock_changed(xblock_info: Any, **_kwargs: Any) -> None:
    """XBLOCK_PUBLISHED / XBLOCK_DELETED of a credential block."""
    try:
        if xblock_info.block_type == BLOCK_TYPE:
            _queue(xblock_info.usage_key.course_key)
    except Exception:
        log.exception("EDC: template push for block %s not queued", getattr(xblock_info, "usage_key", "?"))
