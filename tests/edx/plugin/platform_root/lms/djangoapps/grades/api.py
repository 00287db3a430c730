"""``lms.djangoapps.grades.api``: CourseGradeFactory, as edx-platform's course_grade_factory does it.

``update()`` persists the grade first (``PersistentCourseGrade.update_or_create``: ``passed_timestamp``
set at the first pass and never cleared, then PERSISTENT_GRADE_SUMMARY_CHANGED), then tells whether
the learner passes now (COURSE_GRADE_NOW_PASSED/FAILED → COURSE_PASSING_STATUS_UPDATED, or
CCX_COURSE_PASSING_STATUS_UPDATED for a CCX key). ``between`` runs between the two, where a real
worker may pick up a queued task.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from openedx_events.learning.data import (
    CcxCourseData,
    CcxCoursePassingStatusData,
    CourseData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
    UserData,
    UserPersonalData,
)
from openedx_events.learning.signals import (
    CCX_COURSE_PASSING_STATUS_UPDATED,
    COURSE_PASSING_STATUS_UPDATED,
    PERSISTENT_GRADE_SUMMARY_CHANGED,
)


@dataclass
class PersistentCourseGrade:
    user_id: int
    course_id: Any
    percent_grade: float
    letter_grade: str
    passed_timestamp: dt.datetime | None


GRADES: dict[tuple[int, str], PersistentCourseGrade] = {}


@dataclass
class CourseGrade:
    percent: float
    letter_grade: str | None
    passed: bool


class CourseGradeFactory:
    def read(self, user: Any, course: Any = None, course_key: Any = None, create_if_needed: bool = True) -> Any:
        stored = GRADES.get((user.id, str(course_key)))
        if stored is None:
            return CourseGrade(0.0, None, False) if create_if_needed else None
        return CourseGrade(stored.percent_grade, stored.letter_grade or None, stored.letter_grade != "")

    def update(self, user: Any, course_key: Any, percent: float, cutoff: float = 0.5, letter: str = "Pass",
               between: Callable[[], None] | None = None) -> CourseGrade:
        passed = percent >= cutoff
        letter_grade = letter if passed else ""
        key = (user.id, str(course_key))
        grade = GRADES.get(key)
        if grade is None:
            grade = GRADES[key] = PersistentCourseGrade(user.id, course_key, percent, letter_grade, None)
        grade.percent_grade, grade.letter_grade = percent, letter_grade
        if passed and not grade.passed_timestamp:
            grade.passed_timestamp = timezone.now()
        PERSISTENT_GRADE_SUMMARY_CHANGED.send_event(grade=PersistentCourseGradeData(
            user_id=user.id, course=CourseData(course_key=course_key), course_edited_timestamp=timezone.now(),
            course_version="v1", grading_policy_hash="", percent_grade=percent, letter_grade=letter_grade,
            passed_timestamp=grade.passed_timestamp))
        if between is not None:
            between()
        user_data = UserData(id=user.id, is_active=user.is_active, pii=UserPersonalData(
            username=user.username, email=user.email, name=user.get_full_name() or getattr(user, "profile_name", "")))
        if getattr(course_key, "ccx", None) is not None:
            CCX_COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=CcxCoursePassingStatusData(
                is_passing=passed, user=user_data, course=CcxCourseData(
                    ccx_course_key=course_key, master_course_key=course_key.to_course_locator())))
        else:
            COURSE_PASSING_STATUS_UPDATED.send_event(course_passing_status=CoursePassingStatusData(
                is_passing=passed, user=user_data, course=CourseData(course_key=course_key)))
        return CourseGrade(percent, letter_grade or None, passed)
