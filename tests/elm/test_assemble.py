"""Assembly: EDC's credential structure, deterministic ids, labels, mandate evidence, validity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

from bridge.elm.assemble import SCHEMA_GENERIC_FULL, SCHEMA_ISSUED_BY_MANDATE, Issuer, assemble
from bridge.elm.checks import add_duration
from bridge.elm.completion import Completion
from bridge.elm.errors import ValidationFailed
from bridge.elm.template import CourseTemplate

from .helpers import ADAPT_TO_CHANGE, ISSUED, PROVIDER, REFERENCE, SAME_ORG


def build(template_dict, completion_dict, issuer=SAME_ORG, **kwargs):
    return assemble(
        CourseTemplate.from_dict(template_dict),
        Completion.from_dict(completion_dict),
        issuer,
        issued=ISSUED,
        **kwargs,
    )


def achievement(cred):
    return cred["credentialSubject"]["hasClaim"][0]


def test_top_level_matches_edc(template_dict, completion_dict):
    cred = build(template_dict, completion_dict)
    sample = json.loads((REFERENCE / "Sample-CertOfPart-unsigned.jsonld").read_text())
    assert cred["@context"] == [
        "https://www.w3.org/2018/credentials/v1",
        "http://data.europa.eu/snb/model/context/edc-ap",
    ]
    assert cred["type"] == ["VerifiableCredential", "EuropeanDigitalCredential"]
    assert cred["credentialSchema"] == [{"id": SCHEMA_GENERIC_FULL, "type": "ShaclValidator2017"}]
    assert cred["credentialProfiles"][0]["id"] == "http://data.europa.eu/snb/credential/e34929035b"
    assert cred["credentialProfiles"][0]["prefLabel"] == {"en": "Generic"}
    assert cred["@context"] == sample["@context"]
    assert cred["credentialProfiles"][0] == sample["credentialProfiles"]
    assert cred["issued"] == cred["issuanceDate"] == "2026-11-21T09:30:00Z"
    assert cred["validFrom"] == "2026-11-20T10:00:00Z"
    assert "expirationDate" not in cred and "evidence" not in cred


def test_issuer_and_learner(template_dict, completion_dict):
    cred = build(template_dict, completion_dict)
    issuer = cred["issuer"]
    assert issuer["eIDASIdentifier"]["notation"] == "VATFR-12345678901"
    assert (
        issuer["eIDASIdentifier"]["spatial"]["id"]
        == "http://publications.europa.eu/resource/authority/country/FRA"
    )
    body = achievement(cred)["awardedBy"]["awardingBody"][0]
    assert issuer["id"] == body["id"], "the sealer is the awarding body: one Organisation node"
    assert body["vatIdentifier"][0]["notation"] == "FR12345678901"
    person = cred["credentialSubject"]
    assert person["fullName"] == {"en": "Camille Martin"} and person["givenName"] == {"en": "Camille"}
    assert person["dateOfBirth"] == "2001-04-02T00:00:00Z"
    assert person["contactPoint"][0]["emailAddress"][0] == {
        "id": "mailto:camille@example.org",
        "type": "Mailbox",
    }


def test_specification_coded_values(template_dict, completion_dict):
    spec = achievement(build(template_dict, completion_dict))["specifiedBy"]
    assert spec["type"] == "Qualification" and spec["isPartialQualification"] is True
    assert spec["eqfLevel"]["id"] == "http://data.europa.eu/snb/eqf/6"
    assert spec["eqfLevel"]["inScheme"] == {
        "id": "http://data.europa.eu/snb/eqf/25831c2",
        "type": "ConceptScheme",
    }
    assert spec["eqfLevel"]["prefLabel"] == {"en": "Level 6"}
    assert (
        spec["creditPoint"][0]["framework"]["id"] == "http://data.europa.eu/snb/education-credit/6fcec5c5af"
    )
    assert spec["creditPoint"][0]["point"] == "5"
    assert spec["thematicArea"][0]["id"] == "http://data.europa.eu/snb/isced-f/0613"
    assert spec["thematicArea"][0]["prefLabel"]["en"].startswith("Software and applications development")
    assert spec["mode"][0]["prefLabel"] == {"en": "Online"}
    assert spec["learningSetting"]["prefLabel"] == {"en": "non-formal learning"}
    assert [lang["id"].rsplit("/", 1)[1] for lang in spec["language"]] == ["ENG", "FRA"]
    assert spec["language"][1]["prefLabel"] == {"en": "French", "fr": "français"}
    assert spec["volumeOfLearning"] == "PT125H"
    skills = [s for o in spec["learningOutcome"] for s in o["relatedESCOSkill"]]
    adapt = next(s for s in skills if s["id"] == ADAPT_TO_CHANGE)
    assert adapt["inScheme"]["id"] == "http://data.europa.eu/esco/concept-scheme/skills"
    assert adapt["prefLabel"] == {"en": "adapt to change", "fr": "s'adapter au changement"}


def test_assessment_and_grade(template_dict, completion_dict):
    assessment = achievement(build(template_dict, completion_dict))["provenBy"][0]
    # The LMS did not say which language "Très bien" is in: undetermined, not the course's English.
    assert assessment["grade"]["noteLiteral"] == {"und": "87.5/100 (Très bien)"}
    assert assessment["specifiedBy"]["dcType"]["prefLabel"] == {"en": "written examination"}
    completion_dict["grade"]["language"] = "fr"
    assessment = achievement(build(template_dict, completion_dict))["provenBy"][0]
    assert assessment["grade"]["noteLiteral"] == {"fr": "87.5/100 (Très bien)"}
    completion_dict["grade"] = {"score": 12, "max": 20}
    assessment = achievement(build(template_dict, completion_dict))["provenBy"][0]
    assert assessment["grade"]["noteLiteral"] == {"zxx": "12/20"}  # a score alone has no language
    completion_dict["grade"] = None
    assessment = achievement(build(template_dict, completion_dict))["provenBy"][0]
    assert assessment["grade"]["noteLiteral"] == {"en": "Passed"}


def test_deterministic_and_distinct_ids(template_dict, completion_dict):
    first = build(template_dict, completion_dict)
    assert json.dumps(first) == json.dumps(build(template_dict, completion_dict))
    completion_dict["learner"]["id"] = "18"
    other = build(template_dict, completion_dict)
    assert other["id"] != first["id"]
    assert other["credentialSubject"]["id"] != first["credentialSubject"]["id"]
    given = build(
        template_dict, completion_dict, credential_id="urn:credential:0b0e8f7c-3f1d-4c39-9e0a-6f3c0c5c2a11"
    )
    assert given["id"] == "urn:credential:0b0e8f7c-3f1d-4c39-9e0a-6f3c0c5c2a11"
    with pytest.raises(ValidationFailed) as info:
        build(template_dict, completion_dict, credential_id="credential-1")
    assert info.value.errors[0].field == "credential_id"


def test_skill_labels_service_first_then_template_then_error(template_dict, completion_dict):
    calls = []

    def service(uri):
        calls.append(uri)
        return (
            {"en": "adapt to change (ESCO)", "de": "sich an Veränderungen anpassen"}
            if uri == ADAPT_TO_CHANGE
            else None
        )

    spec = achievement(build(template_dict, completion_dict, skill_labels=service))["specifiedBy"]
    labels = {s["id"]: s["prefLabel"] for o in spec["learningOutcome"] for s in o["relatedESCOSkill"]}
    assert labels[ADAPT_TO_CHANGE]["de"] == "sich an Veränderungen anpassen"
    assert labels["http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"] == {
        "en": "Python",
        "fr": "Python",
    }
    assert len(calls) == 5
    template_dict["learning_outcomes"][2]["esco_skills"] = [ADAPT_TO_CHANGE]
    with pytest.raises(ValidationFailed) as info:
        build(template_dict, completion_dict, skill_labels=lambda uri: None)
    assert [e.field for e in info.value.errors] == ["learning_outcomes[2].esco_skills[0]"]


def test_mandate_evidence_when_sealer_is_not_awarding_body(template_dict, completion_dict):
    cred = build(template_dict, completion_dict, issuer=PROVIDER)
    assert cred["credentialSchema"][1] == {"id": SCHEMA_ISSUED_BY_MANDATE, "type": "ShaclValidator2017"}
    evidence = cred["evidence"][0]
    assert evidence["dcType"]["id"] == "http://data.europa.eu/snb/evidence-type/c_18016257"
    assert evidence["dcType"]["prefLabel"]["fr"] == "Mandat"
    assert "awarding body" in evidence["evidenceStatement"]
    assert cred["issuer"]["legalName"] == {"en": "Credential Services SARL"}
    assert cred["issuer"]["id"] != achievement(cred)["awardedBy"]["awardingBody"][0]["id"]


def test_validity_duration(template_dict, completion_dict):
    template_dict["valid_for"] = "P2Y6M"
    assert build(template_dict, completion_dict)["expirationDate"] == "2029-05-21T09:30:00Z"
    leap = datetime(2028, 2, 29, tzinfo=UTC)
    assert add_duration(leap, "P1Y") == datetime(2029, 2, 28, tzinfo=UTC)
    assert add_duration(leap, "P1DT12H") == leap + timedelta(days=1, hours=12)


def test_issuer_checks_and_from_certificate():
    with pytest.raises(ValidationFailed) as info:
        Issuer(legal_name={"en": "X"}, eidas_identifier="FR-123", country="ZZ")
    assert {e.field for e in info.value.errors} == {"issuer.eidas_identifier", "issuer.country"}
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Université Exemple"),
            x509.NameAttribute(ObjectIdentifier("2.5.4.97"), "VATFR-12345678901"),
        ]
    )
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    issuer = Issuer.from_certificate(cert)
    assert issuer == Issuer(
        legal_name={"en": "Université Exemple"}, eidas_identifier="VATFR-12345678901", country="FR"
    )
