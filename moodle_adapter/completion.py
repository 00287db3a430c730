"""Build the completion the sidecar expects from Moodle's completion, user and grade data.

Moodle's completion Web Service gives no course-level completion time, only one per criterion;
the latest criterion time is the moment the course became complete (for "all criteria"
aggregation, the usual set-up), so that is what ``completed_at`` carries.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moodle_adapter.text import language_code

# completion_criteria::COMPLETION_CRITERIA_TYPE_GRADE in Moodle core.
CRITERIA_TYPE_GRADE = 6


class LearnerDataError(Exception):
    """A learner's data cannot make a valid completion; ``field`` names the completion field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def completion_time(status: dict[str, Any]) -> int | None:
    """Latest criterion completion time (unix seconds) of a completed course, or None if unknown."""
    rows = (status.get("completionstatus") or {}).get("completions") or []
    times = [int(r["timecompleted"]) for r in rows if r.get("complete") and r.get("timecompleted")]
    return max(times) if times else None


def is_completed(status: dict[str, Any]) -> bool:
    return bool((status.get("completionstatus") or {}).get("completed"))


def is_passed(status: dict[str, Any]) -> bool:
    """Completed, and the course-grade criterion (when the course has one) met."""
    if not is_completed(status):
        return False
    rows = (status.get("completionstatus") or {}).get("completions") or []
    return all(r.get("complete") for r in rows if r.get("type") == CRITERIA_TYPE_GRADE)


def course_total(user_grades: dict[str, Any]) -> dict[str, Any] | None:
    """The course total grade item of one learner's ``usergrades`` entry."""
    for item in user_grades.get("gradeitems") or []:
        if item.get("itemtype") == "course":
            return item
    return None


def _grade(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if not item or item.get("graderaw") is None:
        return None
    grade: dict[str, Any] = {"score": round(float(item["graderaw"]), 5)}
    if item.get("grademax") is not None:
        grade["max"] = float(item["grademax"])
    text = str(item.get("gradeformatted") or "").strip()
    if text and text != "-":
        grade["text"] = text
    return grade


def iso_utc(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_completion(source: str, course_id: int, user: dict[str, Any], status: dict[str, Any],
                     grade_item: dict[str, Any] | None, now: int) -> dict[str, Any]:
    """One completion; raises :class:`LearnerDataError` naming the missing or bad field."""
    email = str(user.get("email") or "").strip()
    if not email or "@" not in email:
        raise LearnerDataError("learner.email", "Moodle gives no email address for this learner "
                                                "(or the token cannot see it: moodle/course:useremail)")
    given, family = str(user.get("firstname") or "").strip(), str(user.get("lastname") or "").strip()
    if not given and not family:
        raise LearnerDataError("learner.given_name", "the learner has neither first nor last name")
    learner: dict[str, Any] = {"id": str(user["id"]), "given_name": given, "family_name": family,
                               "email": email}
    lang = language_code(user.get("lang"))
    if lang:
        learner["language"] = lang
    completion: dict[str, Any] = {
        "source": source,
        "course_id": str(course_id),
        "learner": learner,
        "passed": is_passed(status),
        "completed_at": iso_utc(completion_time(status) or now),
    }
    grade = _grade(grade_item)
    if grade is not None:
        completion["grade"] = grade
    return completion
