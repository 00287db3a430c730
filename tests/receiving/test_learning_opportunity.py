"""LearningOpportunity JSON-LD from course templates: LOQ conformance and the credential's link to it."""
from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.conformance import shacl_validate
from bridge.elm.errors import ValidationFailed
from bridge.elm.issuer import Issuer
from bridge.elm.learning_opportunity import learning_opportunity, loq_validate, opportunity_url, page_url
from bridge.elm.template import CourseTemplate

ROOT = Path(__file__).resolve().parents[2]
BASE = "https://sidecar.example"


def template_dict() -> dict[str, Any]:
    return json.loads((ROOT / "examples" / "course-template.json").read_text(encoding="utf-8"))


def build(data: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    template = CourseTemplate.from_dict(data or template_dict())
    return learning_opportunity(template, base_url=BASE, source="moodle-main", course_id="42", **kwargs)


def test_example_course_conforms_to_the_loq_shapes() -> None:
    document = build(modified=datetime(2026, 11, 20, 10, 0, tzinfo=UTC))
    report = loq_validate(document)
    assert report.conforms, report.messages
    assert document["id"] == f"{BASE}/catalogue/moodle-main/42.jsonld"
    assert document["homepage"][0]["contentURL"] == f"{BASE}/catalogue/moodle-main/42"
    assert document["dateModified"] == {"@value": "2026-11-20T10:00:00Z",
                                        "@type": "http://www.w3.org/2001/XMLSchema#dateTime"}
    spec = document["learningAchievementSpecification"]
    assert spec["type"] == "LearningAchievementSpecification"
    assert spec["educationLevel"][0]["id"] == "http://data.europa.eu/snb/eqf/6"
    assert spec["creditPoint"][0]["point"] == "5"
    skills = [s["id"] for o in spec["learningOutcome"] for s in o["relatedESCOSkill"]]
    assert "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4" in skills
    assert document["elm:defaultLanguage"]["id"].endswith("/language/ENG")


def test_course_without_learning_outcomes_conforms_too() -> None:
    """A course whose teacher tagged no ESCO skill is in the catalogue, without outcomes."""
    document = build({**template_dict(), "learning_outcomes": []})
    report = loq_validate(document)
    assert report.conforms, report.messages
    assert "learningOutcome" not in document["learningAchievementSpecification"]


def test_same_template_gives_identical_json() -> None:
    assert json.dumps(build()) == json.dumps(build())
    other = learning_opportunity(CourseTemplate.from_dict(template_dict()), base_url=BASE, source="moodle-main",
                                 course_id="43")
    assert other["learningAchievementSpecification"]["id"] != build()["learningAchievementSpecification"]["id"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("providedBy"), "providedBy"),
        (lambda d: d.pop("homepage"), "homepage"),
        (lambda d: d.pop("elm:defaultLanguage"), "defaultLanguage"),
        (lambda d: d["learningAchievementSpecification"]["thematicArea"][0].update(
            {"inScheme": {"id": "http://data.europa.eu/snb/eqf/25831c2", "type": "ConceptScheme"}}), "inScheme"),
        (lambda d: d["providedBy"][0].pop("legalName"), "legalName"),
        (lambda d: d["learningAchievementSpecification"]["learningOutcome"][0].pop("title"), "title"),
        (lambda d: d["learningAchievementSpecification"].update(
            {"learningSetting": {"id": "http://example.org/not-a-setting", "type": "Concept",
                                 "inScheme": {"id": "http://example.org/scheme", "type": "ConceptScheme"}}}),
         "learningSetting"),
        (lambda d: d.update({"duration": "three weeks"}), "duration"),
    ],
)
def test_loq_shapes_catch_what_they_require(change: Any, expected: str) -> None:
    document = copy.deepcopy(build())
    change(document)
    report = loq_validate(document)
    assert not report.conforms
    assert any(expected in m for m in report.messages), report.messages


def test_template_without_optional_fields_still_conforms() -> None:
    """LOQ deactivates its LearningAchievementSpecification shape: ISCED-F is not required there."""
    data = template_dict()
    for key in ("isced_f", "description", "assessment", "mode", "volume_of_learning"):
        data.pop(key)
    document = build(data)
    assert "mode" not in document and "thematicArea" not in document["learningAchievementSpecification"]
    assert loq_validate(document).conforms


def test_template_without_eqf_keeps_a_plain_specification() -> None:
    data = template_dict()
    data["eqf_level"] = None
    document = build(data)
    assert "educationLevel" not in document["learningAchievementSpecification"]
    assert loq_validate(document).conforms


def test_unknown_context_and_garbage_are_reported() -> None:
    document = build()
    document["@context"] = ["https://example.org/other-context"]
    assert loq_validate(document).messages[0].startswith("@context")
    assert not loq_validate({"@context": 5}).conforms


def test_skill_labels_from_the_esco_service_win() -> None:
    uri = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"
    document = build(skill_labels=lambda u: {"en": "adapt to change", "de": "sich an Veränderungen anpassen"}
                     if u == uri else None)
    labels = [s["prefLabel"] for o in document["learningAchievementSpecification"]["learningOutcome"]
              for s in o["relatedESCOSkill"] if s["id"] == uri]
    assert labels == [{"en": "adapt to change", "de": "sich an Veränderungen anpassen"}]


def test_unlabelled_unknown_skill_is_refused() -> None:
    data = template_dict()
    data["learning_outcomes"][0]["esco_skills"] = ["http://data.europa.eu/esco/skill/00000000-0000-0000-0000-000000000000"]
    with pytest.raises(ValidationFailed) as caught:
        build(data)
    assert caught.value.errors[0].field == "learning_outcomes[0].esco_skills[0]"


def test_urls_encode_course_ids_as_one_segment() -> None:
    assert opportunity_url(BASE + "/", "edx", "course-v1:Org+X/2026") == \
        f"{BASE}/catalogue/edx/course-v1%3AOrg%2BX%2F2026.jsonld"
    assert page_url(BASE, "a b", "1") == f"{BASE}/catalogue/a%20b/1"


@pytest.mark.parametrize("mandated", [False, True])
def test_credential_links_its_learning_opportunity_and_still_conforms(mandated: bool) -> None:
    template = CourseTemplate.from_dict(template_dict())
    completion = Completion.from_dict(json.loads((ROOT / "examples" / "completion.json").read_text("utf-8")))
    issuer = (Issuer({"en": "Sealing Service"}, "VATFR-99999999999", "FR") if mandated
              else Issuer({"en": "Université Exemple"}, "VATFR-12345678901", "FR"))
    iri = opportunity_url(BASE, completion.source, completion.course_id)
    credential = assemble(template, completion, issuer, learning_opportunity=iri)
    achievement = credential["credentialSubject"]["hasClaim"][0]
    link = achievement["learningOpportunity"]
    assert link["id"] == iri
    assert link["learningAchievementSpecification"] == {"id": achievement["specifiedBy"]["id"]}
    assert link["providedBy"] == [{"id": achievement["awardedBy"]["awardingBody"][0]["id"]}]
    report = shacl_validate(credential)
    assert report.conforms, report.messages
    # The EDC shapes check the link too: a dangling provider is refused.
    link["providedBy"] = [{"id": "urn:epass:org:nowhere"}]
    assert not shacl_validate(credential).conforms
    assert "learningOpportunity" not in assemble(template, completion, issuer)["credentialSubject"]["hasClaim"][0]
