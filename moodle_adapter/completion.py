"""The completion the sidecar receives, built from one learner's Moodle data by shared rules.

Like the template rules (``template.py``) these are implemented twice, here and in the plugin's
``classes/local/rules.php``, over the same plain inputs, and checked by the shared vectors:

* ``user``: ``{"id", "firstname", "lastname", "email", "lang"?}``;
* ``timecompleted``: Moodle's course completion time (unix seconds);
* ``criteria``: the course's completion criteria for the learner, ``[{"type", "complete"}]``;
* ``grade``: the course total *as the learner may see it* (``None`` when the course has none):
  ``{"score", "max", "min", "passing"}`` with ``score`` None when hidden from the learner or not
  graded, and ``passing`` Moodle's verdict against the total's "grade to pass" (None when the
  course total has none or the learner may not see it).

``passed`` is Moodle's view: the course is complete, every "course grade" completion criterion is
met, and the visible course total is not below its grade to pass.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moodle_adapter.multilang import language_code, trim

# completion_criteria::COMPLETION_CRITERIA_TYPE_GRADE in Moodle core.
CRITERIA_TYPE_GRADE = 6


class LearnerDataError(Exception):
    """A learner's data cannot make a valid completion; ``field`` names the completion field."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def iso_utc(timestamp: int) -> str:
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_passed(criteria: list[dict[str, Any]], grade: dict[str, Any] | None) -> bool:
    """Every course-grade criterion met and the visible course total not below its grade to pass."""
    if not all(c.get("complete") for c in criteria if int(c.get("type", 0)) == CRITERIA_TYPE_GRADE):
        return False
    return not (grade is not None and grade.get("passing") is False)


def grade_payload(grade: dict[str, Any] | None) -> dict[str, Any] | None:
    """The grade as numbers, only when Moodle shows the learner a score within the item's range."""
    if not grade or grade.get("score") is None or grade.get("max") is None:
        return None
    score, top = float(grade["score"]), float(grade["max"])
    if top <= 0 or score < 0 or score > top:
        return None
    return {"score": score, "max": top}


def build_completion(source: str, course_id: int | str, user: dict[str, Any], timecompleted: int,
                     criteria: list[dict[str, Any]], grade: dict[str, Any] | None) -> dict[str, Any]:
    """One completion; raises :class:`LearnerDataError` naming the missing or bad field."""
    email = trim(str(user.get("email") or ""))
    if not email or "@" not in email:
        raise LearnerDataError("learner.email", "Moodle has no email address for this learner")
    given, family = trim(str(user.get("firstname") or "")), trim(str(user.get("lastname") or ""))
    if not given:
        raise LearnerDataError("learner.given_name", "Moodle has no first name for this learner")
    if not family:
        raise LearnerDataError("learner.family_name", "Moodle has no last name for this learner")
    learner: dict[str, Any] = {"id": str(user["id"]), "given_name": given, "family_name": family,
                               "email": email}
    lang = language_code(user.get("lang"))
    if lang:
        learner["language"] = lang
    completion: dict[str, Any] = {
        "source": source,
        "course_id": str(course_id),
        "learner": learner,
        "passed": is_passed(criteria, grade),
        "completed_at": iso_utc(timecompleted),
    }
    numbers = grade_payload(grade)
    if numbers is not None:
        completion["grade"] = numbers
    return completion
