"""``common.djangoapps.student.models.CourseEnrollment.enrollment_mode_for_user`` → (mode, is_active)."""
from __future__ import annotations

from typing import Any

ENROLLMENTS: dict[tuple[int, str], tuple[str, bool]] = {}


class CourseEnrollment:
    @classmethod
    def enroll(cls, user: Any, course_key: Any, mode: str = "audit", is_active: bool = True) -> None:
        ENROLLMENTS[(user.id, str(course_key))] = (mode, is_active)

    @classmethod
    def enrollment_mode_for_user(cls, user: Any, course_id: Any) -> tuple[str | None, bool | None]:
        return ENROLLMENTS.get((user.id, str(course_id)), (None, None))
