"""What the plugin asks edx-platform, in one place: grades, enrollment modes, language preference,
published blocks. Each function imports edx-platform's own API lazily (the module is also imported
where edx-platform is absent, e.g. by the XBlock in the SDK workbench) and says so when it cannot.

The import paths and calls are edx-platform's public in-process APIs:
``lms.djangoapps.grades.api.CourseGradeFactory``, ``common.djangoapps.student.models.CourseEnrollment``,
``common.djangoapps.course_modes.models.CourseMode``, ``openedx.core.djangoapps.user_api.preferences.api``
and ``xmodule.modulestore.django.modulestore``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

LANGUAGE_KEY = "pref-lang"  # openedx.core.djangoapps.lang_pref.LANGUAGE_KEY
BLOCK_TYPE = "edc_credential"


class PlatformUnavailable(RuntimeError):
    """edx-platform's API is not importable here (not running inside the LMS/Studio)."""


def _user(user_id: Any) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id).first()


@dataclass(frozen=True)
class Standing:
    """The learner as Open edX sees them when a completion is about to leave."""

    exists: bool
    active: bool = False
    passing: bool = False
    percent: float | None = None
    letter_grade: str = ""
    mode: str | None = None
    enrolled: bool = False


def standing(user_id: Any, course_key: Any) -> Standing:
    """Passing now (from the grades API, not from events), the grade and the enrollment mode."""
    try:
        from common.djangoapps.student.models import CourseEnrollment
        from lms.djangoapps.grades.api import CourseGradeFactory
    except ImportError as exc:
        raise PlatformUnavailable(f"edx-platform's grades/enrollment API is not importable ({exc})") from None
    from opaque_keys.edx.keys import CourseKey

    key = CourseKey.from_string(str(course_key))
    user = _user(user_id)
    if user is None:
        return Standing(exists=False)
    grade = CourseGradeFactory().read(user, course_key=key)
    mode, enrolled = CourseEnrollment.enrollment_mode_for_user(user, key)
    percent = getattr(grade, "percent", None)
    return Standing(exists=True, active=bool(user.is_active), passing=bool(grade is not None and grade.passed),
                    percent=float(percent) if percent is not None else None,
                    letter_grade=str(getattr(grade, "letter_grade", "") or ""), mode=mode, enrolled=bool(enrolled))


def mode_earns_credential(mode: str | None, eligible_modes: tuple[str, ...] | None) -> bool:
    """Open edX's own rule (``CourseMode.is_eligible_for_certificate``: not audit, not honor when honor
    certificates are disabled) unless ``ELIGIBLE_MODES`` lists the modes explicitly."""
    if not mode:
        return False
    if eligible_modes is not None:
        return mode in eligible_modes
    try:
        from common.djangoapps.course_modes.models import CourseMode
    except ImportError:
        return mode != "audit"
    return bool(CourseMode.is_eligible_for_certificate(mode))


def language_preference(user_id: Any, default: str) -> str:
    """The learner's language preference (account settings), two letters; ``default`` when unset."""
    try:
        from openedx.core.djangoapps.user_api.preferences.api import get_user_preference
    except ImportError:
        return default
    user = _user(user_id)
    value = get_user_preference(user, LANGUAGE_KEY) if user is not None else None
    code = str(value or "").split("-")[0].split("_")[0].lower()
    return code if len(code) == 2 and code.isalpha() else default


def published_credential_blocks(course_key: Any) -> list[Any]:
    """The course's credential blocks as published (what learners see), never drafts."""
    try:
        from xmodule.modulestore import ModuleStoreEnum
        from xmodule.modulestore.django import modulestore
    except ImportError as exc:
        raise PlatformUnavailable(f"edx-platform's modulestore is not importable ({exc})") from None
    from opaque_keys.edx.keys import CourseKey

    key = CourseKey.from_string(str(course_key))
    store = modulestore()
    with store.branch_setting(ModuleStoreEnum.Branch.published_only, key):
        blocks = store.get_items(key, qualifiers={"category": BLOCK_TYPE})
    return sorted(blocks, key=lambda b: str(b.location))
