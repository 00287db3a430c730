"""Full SHACL conformance (official EDC shapes, offline) and the fast ConformanceGuard."""

from __future__ import annotations

import copy
import json
import socket

import pytest

from bridge.elm import conformance, offline_jsonld
from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.conformance import ConformanceGuard, NonConformant, shacl_validate, skeleton
from bridge.elm.template import CourseTemplate

from .helpers import ADAPT_TO_CHANGE, ISSUED, PROVIDER, REFERENCE, SAME_ORG, load_example
from .test_template import PNG_1PX

MINIMAL = {
    "title": {"en": "Workplace agility"},
    "learning_outcomes": [{"text": {"en": "Adapt to change"}, "esco_skills": [ADAPT_TO_CHANGE]}],
    "languages": ["en"],
    "awarding_body": {
        "legal_name": {"en": "Agile Academy"},
        "legal_identifier": "0123.456.789",
        "country": "BE",
    },
}


def multilingual() -> dict:
    """Three languages, four outcomes, no EQF level (plain LearningAchievementSpecification), a logo,
    a validity period and a blended, formal course."""
    template = load_example("course-template.json")
    template["title"]["de"] = "Datenanalyse mit Python"
    template["languages"] = ["de", "en", "fr"]
    template["learning_outcomes"].append(
        {
            "text": {
                "en": "Use spreadsheets",
                "de": "Tabellenkalkulation nutzen",
                "fr": "Utiliser un tableur",
            },
            "esco_skills": [
                {
                    "uri": "http://data.europa.eu/esco/skill/1973c966-f236-40c9-b2d4-5d71a89019be",
                    "labels": {"en": "use spreadsheets software", "fr": "utiliser un tableur"},
                }
            ],
        }
    )
    template.update(eqf_level=None, mode="blended", learning_setting="formal", valid_for="P5Y", ects=2.5)
    template["awarding_body"]["logo"] = f"data:image/png;base64,{PNG_1PX}"
    return template


def credential(template: dict, issuer=SAME_ORG, completion: dict | None = None) -> dict:
    labels = {ADAPT_TO_CHANGE: {"en": "adapt to change", "fr": "s'adapter au changement"}}
    return assemble(
        CourseTemplate.from_dict(template),
        Completion.from_dict(completion or load_example("completion.json")),
        issuer,
        issued=ISSUED,
        skill_labels=labels.get,
    )


MATRIX = {
    "minimal": (MINIMAL, SAME_ORG),
    "no-learning-outcome": ({**MINIMAL, "learning_outcomes": []}, SAME_ORG),
    "full-same-org": (load_example("course-template.json"), SAME_ORG),
    "full-mandate": (load_example("course-template.json"), PROVIDER),
    "multilingual-mandate": (multilingual(), PROVIDER),
}


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_matrix_conforms_under_full_shacl(name):
    template, issuer = MATRIX[name]
    report = shacl_validate(credential(template, issuer))
    assert report.conforms, report.messages
    assert report.messages == []


def test_a_course_without_esco_outcomes_issues_a_credential_without_skills():
    """pyshacl with the official shapes: learningOutcome is optional on the specification."""
    issued = credential({**MINIMAL, "learning_outcomes": []})
    spec = issued["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    assert "learningOutcome" not in spec and "relatedESCOSkill" not in json.dumps(issued)
    assert shacl_validate(issued).conforms


def test_edc_unsigned_sample_lacks_issued_and_eidas_identifier():
    sample = json.loads((REFERENCE / "Sample-CertOfPart-unsigned.jsonld").read_text("utf-8"))
    report = shacl_validate(sample)
    assert not report.conforms
    assert len(report.messages) == 2
    issued, issuer = report.messages
    assert issued.startswith("(credential) issued: Less than 1 values")
    assert (
        issuer.startswith("(credential) issuer:") and "issuer eIDASIdentifier: Less than 1 values" in issuer
    )
    assert "legal identifier" in issuer
    uploadable = json.loads((REFERENCE / "Sample-CertOfPart-unsigned-uploadable.json").read_text("utf-8"))
    assert shacl_validate(uploadable["credential"]).messages == report.messages


def _drop_title(c):
    del c["credentialSubject"]["hasClaim"][0]["title"]


def _bad_issued(c):
    c["issued"] = "21/11/2026"


def _bad_eqf(c):
    c["credentialSubject"]["hasClaim"][0]["specifiedBy"]["eqfLevel"]["inScheme"]["id"] = (
        "http://example.org/levels"
    )


def _no_display(c):
    del c["displayParameter"]


def _no_eidas(c):
    del c["issuer"]["eIDASIdentifier"]


def _escoless_scheme(c):
    skill = c["credentialSubject"]["hasClaim"][0]["specifiedBy"]["learningOutcome"][0]["relatedESCOSkill"][0]
    skill["inScheme"]["id"] = "http://data.europa.eu/esco/concept-scheme/occupations"


MUTATIONS = {
    "no achievement title": (_drop_title, "credentialSubject.hasClaim[0] title: Less than 1 values"),
    "issued not a dateTime": (
        _bad_issued,
        "(credential) issued: Value is not Literal with datatype xsd:dateTime",
    ),
    "EQF level outside the EQF scheme": (_bad_eqf, "specifiedBy eqfLevel: Value does not conform to Shape"),
    "no displayParameter": (_no_display, "(credential) displayParameter: Less than 1 values"),
    "issuer without eIDAS identifier": (_no_eidas, "eIDASIdentifier: Less than 1 values"),
    "ESCO skill in another scheme": (_escoless_scheme, "relatedESCOSkill: Value does not conform"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutations_are_reported_with_the_shape_message(name):
    mutate, expected = MUTATIONS[name]
    cred = credential(load_example("course-template.json"))
    mutate(cred)
    report = shacl_validate(cred)
    assert not report.conforms
    assert any(expected in m for m in report.messages), report.messages


def test_mandate_requires_evidence():
    cred = credential(load_example("course-template.json"), PROVIDER)
    del cred["evidence"]
    cred["credentialSchema"] = cred["credentialSchema"][:1]  # even when the profile is not declared
    report = shacl_validate(cred)
    assert any(m.startswith("(credential) evidence: Less than 1 values") for m in report.messages), (
        report.messages
    )


def test_messages_never_contain_the_learner_email():
    cred = credential(MINIMAL)
    cred["credentialSubject"]["contactPoint"][0]["emailAddress"][0]["type"] = "Person"
    report = shacl_validate(cred)
    assert not report.conforms
    assert not any("camille" in m for m in report.messages), report.messages


def test_validation_is_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    conformance.shapes_graph.cache_clear()
    offline_jsonld.context_document.cache_clear()
    assert shacl_validate(credential(MINIMAL)).conforms
    remote = credential(MINIMAL)
    remote["@context"].append("https://example.org/other-context.jsonld")
    report = shacl_validate(remote)
    assert not report.conforms and report.messages[0].startswith("@context:")


def test_shapes_are_parsed_once_per_process():
    assert conformance.shapes_graph() is conformance.shapes_graph()
    assert len(conformance.shapes_graph(True)) > len(conformance.shapes_graph())


def test_non_json_ld_input_is_a_report_not_a_crash():
    assert not shacl_validate({"@context": {"@version": "nonsense"}, "id": 5}).conforms
    assert not shacl_validate("not an object").conforms  # type: ignore[arg-type]


# ---- ConformanceGuard ----------------------------------------------------------------------------


def other_learner(n: int) -> dict:
    completion = load_example("completion.json")
    completion["learner"].update(
        id=str(100 + n), given_name=f"Léa-{n}", family_name="O'Brien", email=f"l{n}@ex.eu"
    )
    completion["grade"] = {"score": n, "max": 100} if n % 2 else {"text": "Pass"}
    completion["completed_at"] = f"2026-11-{10 + n:02d}T08:00:00+01:00"
    return completion


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_guard_agrees_with_full_shacl_on_the_matrix(name):
    template, issuer = MATRIX[name]
    guard = ConformanceGuard()
    report = guard.prepare(
        CourseTemplate.from_dict(template),
        issuer,
        skill_labels={ADAPT_TO_CHANGE: {"en": "adapt to change", "fr": "s'adapter au changement"}}.get,
        with_date_of_birth=True,
    )
    assert report.conforms
    paths = [guard.ensure(credential(template, issuer, other_learner(n))) for n in range(3)]
    assert paths == ["fast", "fast", "fast"]
    assert guard.stats == {"fast": 3, "full": 0}


def test_guard_strict_and_sampling():
    cred = credential(MINIMAL)
    strict = ConformanceGuard(strict=True)
    assert [strict.ensure(cred), strict.ensure(cred)] == ["full", "full"]
    sampled = ConformanceGuard(sample_every=2)
    assert [sampled.ensure(cred) for _ in range(4)] == ["full", "full", "fast", "full"]
    with pytest.raises(ValueError):
        ConformanceGuard(sample_every=-1)


def _learner_tampering():
    def issued_text(c):
        c["issued"] = "yesterday"

    def name_list(c):
        c["credentialSubject"]["givenName"] = {"en": ["Camille"]}

    def bad_mailto(c):
        c["credentialSubject"]["contactPoint"][0]["emailAddress"][0]["id"] = "mailto:not an email"

    def birth_date(c):
        c["credentialSubject"]["dateOfBirth"] = "2001-02-30T00:00:00Z"

    def empty_grade(c):
        c["credentialSubject"]["hasClaim"][0]["provenBy"][0]["grade"]["noteLiteral"] = {"en": ""}

    return {
        "issued": issued_text,
        "name": name_list,
        "mailto": bad_mailto,
        "birth": birth_date,
        "grade": empty_grade,
    }


@pytest.mark.parametrize("name", sorted(_learner_tampering()))
def test_guard_rejects_per_learner_tampering_without_shacl(name):
    guard = ConformanceGuard()
    good = credential(load_example("course-template.json"))
    assert guard.ensure(good) == "full"
    bad = copy.deepcopy(good)
    _learner_tampering()[name](bad)
    with pytest.raises(NonConformant) as info:
        guard.ensure(bad)
    assert info.value.messages and guard.stats == {"fast": 0, "full": 1}
    assert "camille" not in str(info.value).lower()


@pytest.mark.parametrize("name", sorted(set(MUTATIONS) - {"issued not a dateTime"}))
def test_guard_sends_structural_changes_to_full_shacl(name):
    guard = ConformanceGuard()
    good = credential(load_example("course-template.json"))
    guard.ensure(good)
    bad = copy.deepcopy(good)
    MUTATIONS[name][0](bad)
    with pytest.raises(NonConformant) as info:
        guard.ensure(bad)
    assert any(MUTATIONS[name][1] in m for m in info.value.messages)
    assert guard.stats == {"fast": 0, "full": 2}


def test_skeleton_keeps_id_sharing_visible():
    cred = credential(MINIMAL)
    merged = copy.deepcopy(cred)
    merged["issuer"]["id"] = merged["credentialSubject"]["id"]
    assert skeleton(cred)[0] != skeleton(merged)[0]
    assert skeleton(cred)[1] == [] and skeleton(merged)[1] == []
