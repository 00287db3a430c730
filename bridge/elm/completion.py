"""Completion: one learner finishing one course, as POSTed by an LMS adapter.

Validated on arrival (docs/architecture.md, "Completion") so that a bad record is refused with
field-level errors instead of failing later inside a Celery worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bridge.elm import checks
from bridge.elm.errors import Collector

_TOP = {"source", "course_id", "learner", "grade", "passed", "completed_at"}
_LEARNER = {"id", "given_name", "family_name", "email", "language", "date_of_birth"}


@dataclass(frozen=True)
class Learner:
    id: str
    given_name: str
    family_name: str
    email: str
    language: str | None = None
    date_of_birth: date | None = None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class Grade:
    score: float | None = None
    max: float | None = None
    text: str | None = None
    language: str | None = None
    """The language ``text`` is written in (a BCP 47 tag such as ``fr``), when the LMS knows it."""


@dataclass(frozen=True)
class Completion:
    source: str
    course_id: str
    learner: Learner
    grade: Grade | None
    passed: bool
    completed_at: datetime

    @classmethod
    def from_dict(cls, data: Any) -> Completion:
        """Validate a completion document; raises ValidationFailed listing every bad field."""
        c = Collector()
        d = checks.obj(c, "", data)
        c.raise_if_any()
        assert d is not None
        checks.keys(c, "", d, _TOP, {"source", "course_id", "learner", "passed", "completed_at"})
        source = checks.identifier(c, "source", d.get("source"), max_len=64) if "source" in d else None
        if source is not None and not re.fullmatch(r"[A-Za-z0-9._-]+", source):
            c.add("source", "expected a source name of letters, digits, '.', '_' or '-'")
            source = None
        course_id = checks.identifier(c, "course_id", d.get("course_id")) if "course_id" in d else None
        learner = _learner(c, d.get("learner")) if "learner" in d else None
        grade = _grade(c, d.get("grade"))
        passed = d.get("passed")
        if "passed" in d and not isinstance(passed, bool):
            c.add("passed", "expected true or false")
        completed = (
            checks.timestamp(c, "completed_at", d.get("completed_at")) if "completed_at" in d else None
        )
        c.raise_if_any()
        assert source and course_id and learner and completed and isinstance(passed, bool)
        return cls(
            source=source,
            course_id=course_id,
            learner=learner,
            grade=grade,
            passed=passed,
            completed_at=completed,
        )

    def to_dict(self) -> dict[str, Any]:
        learner = self.learner
        return {
            "source": self.source,
            "course_id": self.course_id,
            "learner": {
                "id": learner.id,
                "given_name": learner.given_name,
                "family_name": learner.family_name,
                "email": learner.email,
                "language": learner.language,
                "date_of_birth": learner.date_of_birth.isoformat() if learner.date_of_birth else None,
            },
            "grade": None
            if self.grade is None
            else {"score": self.grade.score, "max": self.grade.max, "text": self.grade.text,
                  "language": self.grade.language},
            "passed": self.passed,
            "completed_at": self.completed_at.isoformat().replace("+00:00", "Z"),
        }


def _learner(c: Collector, value: Any) -> Learner | None:
    if checks.obj(c, "learner", value) is None:
        return None
    checks.keys(c, "learner", value, _LEARNER, {"id", "given_name", "family_name", "email"})
    lid = checks.identifier(c, "learner.id", value.get("id")) if "id" in value else None
    given = (
        checks.text(c, "learner.given_name", value.get("given_name"), max_len=checks.MAX_NAME)
        if "given_name" in value
        else None
    )
    family = (
        checks.text(c, "learner.family_name", value.get("family_name"), max_len=checks.MAX_NAME)
        if "family_name" in value
        else None
    )
    mail = checks.email(c, "learner.email", value.get("email")) if "email" in value else None
    lang = checks.language(c, "learner.language", value.get("language"), required=False)
    born = checks.day(c, "learner.date_of_birth", value.get("date_of_birth"), required=False)
    if not (lid and given and family and mail):
        return None
    return Learner(
        id=lid, given_name=given, family_name=family, email=mail, language=lang, date_of_birth=born
    )


def _grade(c: Collector, value: Any) -> Grade | None:
    if value is None:
        return None
    if checks.obj(c, "grade", value) is None:
        return None
    checks.keys(c, "grade", value, {"score", "max", "text", "language"}, set())
    score = checks.number(c, "grade.score", value.get("score"), required=False)
    top = checks.number(c, "grade.max", value.get("max"), required=False)
    text = checks.text(c, "grade.text", value.get("text"), max_len=200, required=False)
    language = value.get("language")
    if language is not None and (not isinstance(language, str) or not checks.LANG_TAG_RE.fullmatch(language)):
        c.add("grade.language", "expected the language tag of grade.text, like fr or pt-BR")
        language = None
    if top is not None and top <= 0:
        c.add("grade.max", "expected a maximum greater than 0")
    elif score is not None and (score < 0 or (top is not None and score > top)):
        c.add("grade.score", "expected a score between 0 and grade.max")
    if score is None and text is None and not any(k in value for k in ("score", "text")):
        c.add("grade", "expected a score and/or a text")
    if score is not None and top is None and "max" not in value:
        c.add("grade.max", "expected the maximum score alongside score")
    return Grade(score=score, max=top, text=text, language=language)
