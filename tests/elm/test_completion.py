"""Completion validation: field-level errors, no personal data in messages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bridge.elm.completion import Completion
from bridge.elm.errors import ValidationFailed


def errors_of(data) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        Completion.from_dict(data)
    return {e.field: e.message for e in info.value.errors}


def test_example_completion(completion_dict):
    completion = Completion.from_dict(completion_dict)
    assert completion.learner.full_name == "Camille Martin"
    assert completion.learner.date_of_birth == date(2001, 4, 2)
    assert completion.completed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert completion.grade.score == 87.5 and completion.grade.text == "Très bien"
    assert Completion.from_dict(completion.to_dict()) == completion


def test_integer_ids_and_offsets_are_normalised(completion_dict):
    completion_dict["course_id"] = 42
    completion_dict["learner"]["id"] = 17
    completion_dict["completed_at"] = "2026-11-20T12:00:00+02:00"
    completion = Completion.from_dict(completion_dict)
    assert completion.course_id == "42" and completion.learner.id == "17"
    assert completion.completed_at == datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("section", "key", "value", "field"),
    [
        ("learner", "email", "camille.example.org", "learner.email"),
        ("learner", "email", "camille@", "learner.email"),
        ("learner", "email", "camille@example.org\n", "learner.email"),
        ("learner", "given_name", "", "learner.given_name"),
        ("learner", "family_name", "Martin\x00", "learner.family_name"),
        ("learner", "language", "french", "learner.language"),
        ("learner", "date_of_birth", "2001-02-30", "learner.date_of_birth"),
        ("learner", "date_of_birth", "2999-01-01", "learner.date_of_birth"),
        ("grade", "score", 120, "grade.score"),
        ("grade", "score", -1, "grade.score"),
        ("grade", "max", 0, "grade.max"),
        ("grade", "score", "87", "grade.score"),
        (None, "completed_at", "2026-13-01T10:00:00Z", "completed_at"),
        (None, "completed_at", "2026-11-20T10:00:00", "completed_at"),
        (None, "completed_at", "20/11/2026", "completed_at"),
        (None, "passed", "yes", "passed"),
        (None, "source", "moodle main!", "source"),
        (None, "course_id", "", "course_id"),
        (None, "learner", "Camille", "learner"),
        (None, "extra", 1, "extra"),
    ],
)
def test_each_bad_field_is_named(completion_dict, section, key, value, field):
    target = completion_dict[section] if section else completion_dict
    target[key] = value
    assert field in errors_of(completion_dict)


def test_missing_fields_and_all_errors_together(completion_dict):
    del completion_dict["learner"]["given_name"]
    del completion_dict["passed"]
    completion_dict["grade"] = {"score": 101, "max": 100}
    errors = errors_of(completion_dict)
    assert {"learner.given_name", "passed", "grade.score"} <= errors.keys()


def test_messages_do_not_contain_personal_data(completion_dict):
    completion_dict["learner"]["email"] = "camille.martin.secret@"
    completion_dict["learner"]["date_of_birth"] = "2001-99-99"
    with pytest.raises(ValidationFailed) as info:
        Completion.from_dict(completion_dict)
    assert "camille" not in str(info.value).lower() and "2001" not in str(info.value)
