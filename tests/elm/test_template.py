"""Course template validation: every bad field is named, all are reported together."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from bridge.elm.errors import ValidationFailed
from bridge.elm.template import CourseTemplate

PNG_1PX = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
    )
).decode()


def errors_of(data: Any) -> dict[str, str]:
    with pytest.raises(ValidationFailed) as info:
        CourseTemplate.from_dict(data)
    return {e.field: e.message for e in info.value.errors}


def test_example_template_loads_and_round_trips(template_dict):
    template = CourseTemplate.from_dict(template_dict)
    assert template.title["fr"] == "Analyse de données avec Python"
    assert template.eqf_level == 6 and template.isced_f == "0613" and template.languages == ("en", "fr")
    assert len(template.learning_outcomes) == 3
    assert "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4" in template.esco_skill_uris
    assert CourseTemplate.from_dict(template.to_dict()) == template


def test_minimal_template_with_plain_skill_uris():
    template = CourseTemplate.from_dict(
        {
            "title": {"en": "Short course"},
            "learning_outcomes": [
                {
                    "text": {"en": "Adapt"},
                    "esco_skills": ["http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"],
                }
            ],
            "languages": ["en"],
            "awarding_body": {"legal_name": {"en": "Org"}, "legal_identifier": "42", "country": "BE"},
        }
    )
    assert template.learning_outcomes[0].esco_skills[0].labels is None
    assert template.assessment is None and template.eqf_level is None


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    keys = path.split(".")
    for key in keys[:-1]:
        data = data[int(key)] if isinstance(data, list) else data[key]
    if isinstance(data, list):
        data[int(keys[-1])] = value
    else:
        data[keys[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("eqf_level", 9, "eqf_level"),
        ("eqf_level", "6", "eqf_level"),
        (
            "learning_outcomes.0.esco_skills.0.uri",
            "http://data.europa.eu/esco/skill/not-a-uuid",
            "learning_outcomes[0].esco_skills[0].uri",
        ),
        (
            "learning_outcomes.2.esco_skills.0",
            "https://example.org/skill/1",
            "learning_outcomes[2].esco_skills[0]",
        ),
        ("learning_outcomes.1.esco_skills", [], "learning_outcomes[1].esco_skills"),
        ("learning_outcomes.0.text", {"en": "  "}, "learning_outcomes[0].text.en"),
        ("title", {"en": ""}, "title.en"),
        ("title", {}, "title"),
        ("title", {"xx": "Title"}, "title.xx"),
        ("description", "just text", "description"),
        ("languages", ["en", "zz"], "languages[1]"),
        ("languages", ["en", "en"], "languages"),
        ("isced_f", "1234", "isced_f"),
        ("mode", "telepathy", "mode"),
        ("learning_setting", "informal-ish", "learning_setting"),
        ("volume_of_learning", "125 hours", "volume_of_learning"),
        ("ects", -1, "ects"),
        ("ects", True, "ects"),
        ("valid_for", "one year", "valid_for"),
        ("credential_profile", "diploma", "credential_profile"),
        ("assessment.type", "tarot", "assessment.type"),
        ("assessment.min_score", 100, "assessment.max_score"),
        ("assessment.pass_score", 150, "assessment.pass_score"),
        ("awarding_body.email", "registrar@@univ", "awarding_body.email"),
        ("awarding_body.country", "XX", "awarding_body.country"),
        ("awarding_body.homepage", "ftp://univ.example", "awarding_body.homepage"),
        ("awarding_body.vat_identifier", "12345", "awarding_body.vat_identifier"),
        ("awarding_body.logo", "data:image/png;base64,AAAA", "awarding_body.logo"),
        ("awarding_body.logo", "http://insecure.example/logo.png", "awarding_body.logo"),
        ("awarding_body.legal_identifier", "", "awarding_body.legal_identifier"),
        ("eqf_lvl", 6, "eqf_lvl"),
    ],
)
def test_each_bad_field_is_named(template_dict, path, value, field):
    set_path(template_dict, path, value)
    errors = errors_of(template_dict)
    assert field in errors, errors
    assert errors[field]


def test_missing_required_fields_and_non_object_input(template_dict):
    del template_dict["awarding_body"]
    del template_dict["learning_outcomes"]
    errors = errors_of(template_dict)
    assert {"awarding_body", "learning_outcomes"} <= errors.keys()
    assert "(document)" in errors_of(["not", "an", "object"])
    assert "awarding_body" in errors_of({**template_dict, "awarding_body": "Université"})


def test_all_errors_are_collected_at_once(template_dict):
    template_dict["eqf_level"] = 0
    template_dict["isced_f"] = "x"
    template_dict["learning_outcomes"][1]["esco_skills"][0]["uri"] = "esco:adapt"
    template_dict["awarding_body"]["email"] = "nobody"
    errors = errors_of(template_dict)
    assert {
        "eqf_level",
        "isced_f",
        "learning_outcomes[1].esco_skills[0].uri",
        "awarding_body.email",
    } <= errors.keys()


def test_error_messages_do_not_echo_values(template_dict):
    template_dict["awarding_body"]["email"] = "private.person@@secret"
    with pytest.raises(ValidationFailed) as info:
        CourseTemplate.from_dict(template_dict)
    assert "private.person" not in str(info.value)
    assert info.value.to_list() == [{"field": "awarding_body.email", "message": info.value.errors[0].message}]


def test_codes_accepted_as_full_uris_and_logo_data_url(template_dict):
    template_dict["isced_f"] = "http://data.europa.eu/snb/isced-f/0613"
    template_dict["mode"] = "http://data.europa.eu/snb/learning-assessment/e92d221e4d"
    template_dict["awarding_body"]["logo"] = f"data:image/png;base64,{PNG_1PX}"
    template = CourseTemplate.from_dict(template_dict)
    assert template.isced_f == "0613" and template.mode.endswith("e92d221e4d")


def test_sidecar_policy_key_is_tolerated(template_dict):
    template_dict["policy"] = {"issue_when": "passed"}
    assert CourseTemplate.from_dict(template_dict).ects == 5
