"""Course keys as the sidecar sees them.

A CCX (custom course) runs the content of its master course under its own key
(``ccx-v1:Org+Course+Run+ccx@3``); Studio only knows the master course, so the credential template
is stored under the master course's key and a CCX learner's completion is filed under it too.
Grades, enrollments and the outbox keep the key the learner actually took (the CCX key).
"""
from __future__ import annotations

from typing import Any


def template_course_id(course_key: Any) -> str:
    """The course id the sidecar files templates and completions under (the master course of a CCX)."""
    if isinstance(course_key, str):
        from opaque_keys.edx.keys import CourseKey

        course_key = CourseKey.from_string(course_key)
    if getattr(course_key, "ccx", None) is not None and hasattr(course_key, "to_course_locator"):
        return str(course_key.to_course_locator())
    return str(course_key)
