"""Completion: one learner finishing one course, as POSTed by an LMS adapter.

Validated on arrival (docs/architecture.md, "Completion") so that a bad record is refused with
field-level errors instead of failing later inside a Celery worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, NotRequired

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from bridge.elm import fields
from bridge.elm.errors import FieldError, ValidationFailed, from_pydantic

_FORBID = ConfigDict(extra="forbid", hide_input_in_errors=True)
GradeText = fields.text(200)
GradeLanguage = Annotated[str, StringConstraints(strict=True, max_length=35, pattern=fields.LANGUAGE_TAG_PATTERN),
                          Field(description="BCP 47 tag of text, e.g. fr or pt-BR")]


@with_config(_FORBID)
class LearnerDocument(TypedDict):
    """The learner as the LMS knows them; names are single-line (they go into e-mail headers)."""

    id: fields.Identifier
    given_name: fields.Line
    family_name: fields.Line
    email: fields.Email
    language: NotRequired[fields.Language | None]
    date_of_birth: NotRequired[fields.Day | None]


@with_config(_FORBID)
class GradeDocument(TypedDict):
    """A score out of ``max`` and/or a text (e.g. "Très bien"); at least one of them."""

    score: NotRequired[fields.Score | None]
    max: NotRequired[fields.number(exclusive_minimum=True) | None]
    text: NotRequired[GradeText | None]
    language: NotRequired[GradeLanguage | None]


def _grade(grade: dict[str, Any]) -> dict[str, Any]:
    """Rules across the grade's fields; the grade in its stored form (every key present)."""
    score, top, text = grade.get("score"), grade.get("max"), grade.get("text")
    if score is None and text is None:
        raise fields.field_error(None, "expected a score and/or a text")
    if score is not None and top is None:
        raise fields.field_error("max", "expected the maximum score alongside score")
    if score is not None and score > top:
        raise fields.field_error("score", "expected a score between 0 and grade.max")
    return {"score": score, "max": top, "text": text, "language": grade.get("language")}


@with_config(_FORBID)
class CompletionDocument(TypedDict):
    """One learner completing one course (docs/architecture.md, "Completion")."""

    source: fields.SourceName
    course_id: fields.Identifier
    learner: LearnerDocument
    grade: NotRequired[Annotated[GradeDocument, AfterValidator(_grade)] | None]
    passed: fields.Bool
    completed_at: Annotated[fields.DateTime, AfterValidator(fields.iso_utc)]


def _normal_form(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored form: every key present (None when not given), times in UTC with 'Z'; birth before
    completion (both are ISO texts, so they compare as text)."""
    learner = doc["learner"]
    born = learner.get("date_of_birth")
    if born is not None and born >= doc["completed_at"][:10]:
        raise fields.field_error("learner.date_of_birth", "expected a birth date before the completion date")
    return {"source": doc["source"], "course_id": doc["course_id"],
            "learner": {"id": learner["id"], "given_name": learner["given_name"],
                        "family_name": learner["family_name"], "email": learner["email"],
                        "language": learner.get("language"), "date_of_birth": born},
            "grade": doc.get("grade"), "passed": doc["passed"], "completed_at": doc["completed_at"]}


Document = Annotated[CompletionDocument, AfterValidator(_normal_form)]
"""A completion as sent, validated into its stored normal form (what ``Completion.to_dict`` gives)."""
DOCUMENT: TypeAdapter[dict[str, Any]] = TypeAdapter(Document)


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
        if not isinstance(data, dict):
            raise ValidationFailed([FieldError("(document)", "expected a JSON object")])
        try:
            return cls.from_normal_form(DOCUMENT.validate_python(data))
        except ValidationError as exc:
            raise ValidationFailed(from_pydantic(exc)) from None

    @classmethod
    def from_normal_form(cls, doc: dict[str, Any]) -> Completion:
        """The completion of a validated document in its stored form (see ``DOCUMENT``)."""
        learner, grade = doc["learner"], doc["grade"]
        born = learner["date_of_birth"]
        return cls(
            source=doc["source"],
            course_id=doc["course_id"],
            learner=Learner(id=learner["id"], given_name=learner["given_name"], family_name=learner["family_name"],
                            email=learner["email"], language=learner["language"],
                            date_of_birth=None if born is None else date.fromisoformat(born)),
            grade=None if grade is None else Grade(score=grade["score"], max=grade["max"], text=grade["text"],
                                                   language=grade.get("language")),
            passed=doc["passed"],
            completed_at=datetime.fromisoformat(doc["completed_at"].replace("Z", "+00:00")),
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
