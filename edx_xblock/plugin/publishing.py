"""Studio's side: when a course is published, its credential template goes to the sidecar.

Only what learners can see counts — the published credential blocks of the course, read from the
modulestore's published branch — so saving a draft, duplicating or deleting a block changes the
sidecar only once the change is published. The outcome (version, or the fields the sidecar refused)
is kept in ``CourseCredential`` for the blocks to show in Studio and for the LMS to know the course
issues credentials.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from edx_xblock.client import SidecarClient, SidecarRejected
from edx_xblock.config import BridgeConfig
from edx_xblock.keys import template_course_id
from edx_xblock.plugin.models import CourseCredential
from edx_xblock.template_form import build_template, validate_form

log = logging.getLogger(__name__)

FIELDS = ("display_name", "languages", "title", "description", "ects", "eqf_level", "isced_f", "mode",
          "learning_setting", "volume_hours", "outcomes")


def block_values(block: Any) -> dict[str, Any]:
    """The editable fields of a credential block (published version)."""
    return {name: getattr(block, name) for name in FIELDS}


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Prepared:
    """The template to push, or the reason there is none."""

    template: dict[str, Any] | None
    errors: list[dict[str, str]]


def prepare(blocks: Sequence[Any], config: BridgeConfig) -> Prepared:
    """One template from the published blocks; several blocks must agree (a duplicate left behind)."""
    if not config.awarding_body:
        return Prepared(None, [{"field": "", "message": "EDC_BRIDGE['AWARDING_BODY'] is not set"}])
    templates: list[dict[str, Any]] = []
    for block in blocks:
        form = validate_form(block_values(block))
        if form.errors:
            return Prepared(None, form.errors)
        templates.append(build_template(form.values, config.awarding_body, config.assessment, config.policy))
    if len({template_hash(t) for t in templates}) > 1:
        where = ", ".join(str(b.location) for b in blocks)
        return Prepared(None, [{"field": "", "message": f"the course has {len(blocks)} credential components "
                                                         f"that describe different credentials ({where}); "
                                                         "keep one and publish again"}])
    return Prepared(templates[0] if templates else None, [])


def sync_course(course_key: Any, blocks: Sequence[Any], config: BridgeConfig,
                client: SidecarClient | None = None) -> CourseCredential | None:
    """Bring the sidecar in line with the published course; raises SidecarUnavailable to be retried.

    Returns the course's row (None for a course that never had a credential block).
    """
    course_id = template_course_id(course_key)
    row = CourseCredential.objects.filter(course_id=course_id).first()
    usage_ids = [str(b.location) for b in blocks]
    if not blocks:
        if row is not None and row.status != CourseCredential.REMOVED:
            row.status, row.usage_ids, row.errors = CourseCredential.REMOVED, [], []
            row.published_at = timezone.now()
            row.save()
            log.info("EDC: course %s no longer has a published credential block", course_id)
        return row
    if row is None:
        row = CourseCredential(course_id=course_id)
    prepared = prepare(blocks, config)
    row.usage_ids, row.published_at = usage_ids, timezone.now()
    if prepared.template is None:
        row.status, row.errors = CourseCredential.REFUSED, prepared.errors
        row.save()
        return row
    digest = template_hash(prepared.template)
    if row.pk and row.template_hash == digest and row.status == CourseCredential.PUSHED:
        row.save(update_fields=["usage_ids", "published_at", "updated_at"])
        return row  # unchanged since the last push
    row.template_hash, row.status, row.errors = digest, CourseCredential.PUSHING, []
    row.attempts += 1
    row.save()
    try:
        stored = (client or SidecarClient(config)).put_template(course_id, prepared.template)
    except SidecarRejected as exc:
        row.status = CourseCredential.REFUSED
        row.errors = exc.errors or [{"field": "", "message": exc.detail}]
        row.save()
        log.warning("EDC: the sidecar refused the template of course %s (%s)", course_id, exc.status)
        return row
    except Exception:
        row.status = CourseCredential.UNREACHABLE
        row.save()
        raise
    row.status, row.version, row.attempts = CourseCredential.PUSHED, stored.get("version"), 0
    row.save()
    log.info("EDC: template of course %s pushed, version %s", course_id, row.version)
    return row
