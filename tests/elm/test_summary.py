"""summarise(): this bridge's credentials, EDC's own samples, and hostile input."""

from __future__ import annotations

import json

import pytest

from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.summary import summarise
from bridge.elm.template import CourseTemplate

from .helpers import ADAPT_TO_CHANGE, ISSUED, PROVIDER, REFERENCE


def test_summary_of_a_bridge_credential(template_dict, completion_dict):
    cred = assemble(
        CourseTemplate.from_dict(template_dict),
        Completion.from_dict(completion_dict),
        PROVIDER,
        issued=ISSUED,
    )
    summary = summarise(cred, lang="fr")
    assert summary["title"] == "Analyse de données avec Python"
    assert summary["learner"] == {"name": "Camille Martin", "email": "camille@example.org"}
    assert summary["issuer"] == {"name": "Credential Services SARL", "eidas_identifier": "NTRFR-987654321"}
    assert summary["issued"] == "2026-11-21T09:30:00Z" and summary["expires"] is None
    [claim] = summary["achievements"]
    assert claim["type"] == "LearningAchievement" and claim["awarding_bodies"] == ["Université Exemple"]
    assert (claim["ects"], claim["eqf_level"]) == ("5", 6)
    assert claim["isced_f"][0]["code"] == "0613"
    assert {"uri": ADAPT_TO_CHANGE, "label": "s'adapter au changement"} in claim["esco_skills"]
    assert claim["grade"] == "87.5/100 (Très bien)"
    assert summarise(cred)["achievements"][0]["esco_skills"][-1]["label"] == "adapt to change"
    # What recognition needs besides the skills: outcomes with their skills, mode, languages, volume.
    outcomes = claim["learning_outcomes"]
    assert [o["text"] for o in outcomes] == [o["text"]["fr"] for o in template_dict["learning_outcomes"]]
    assert outcomes[-1]["esco_skills"] == [{"uri": ADAPT_TO_CHANGE, "label": "s'adapter au changement"}]
    assert claim["volume_of_learning"] == template_dict["volume_of_learning"]
    assert claim["mode"] and claim["languages"] and claim["learning_setting"]
    assert claim["assessments"][0]["grade"] == claim["grade"]


def test_summary_of_edc_samples():
    unsigned = json.loads((REFERENCE / "Sample-CertOfPart-unsigned.jsonld").read_text("utf-8"))
    summary = summarise(unsigned)
    assert summary["title"] == "Certificate of Participation"
    assert summary["learner"] == {"name": "Ana Andromeda", "email": "ana.andromeda.4edc@gmail.com"}
    assert summary["issuer"]["eidas_identifier"] is None and summary["issued"] is None
    assert summary["achievements"][0]["type"] == "LearningActivity"
    assert summary["achievements"][0]["title"] == "EDC Updates Webinar"
    signed = json.loads(
        json.loads((REFERENCE / "Sample-CertOfPart-signed.jsonld").read_text("utf-8"))["payload"]
    )
    summary = summarise(signed)
    assert summary["issuer"] == {"name": "ORGANIZACION TEST", "eidas_identifier": "VATES-A00000000"}
    assert summary["issued"] == "2023-09-27T14:07:01+02:00"


@pytest.mark.parametrize(
    "junk",
    [
        None,
        1,
        "text",
        [],
        {"credentialSubject": "x", "issuer": [1, 2]},
        {
            "credentialSubject": {
                "hasClaim": [
                    {
                        "specifiedBy": {
                            "creditPoint": "x",
                            "eqfLevel": [None],
                            "learningOutcome": [{"relatedESCOSkill": "y"}],
                        },
                        "provenBy": {"grade": 5},
                        "title": ["a", {"en": 1}],
                    }
                ]
            }
        },
    ],
)
def test_summary_never_fails_on_unexpected_shapes(junk):
    summary = summarise(junk)
    assert summary["learner"]["email"] is None
    assert isinstance(summary["achievements"], list)
