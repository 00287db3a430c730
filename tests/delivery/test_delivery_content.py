"""view_from_summary: the defensive reading of summaries of different shapes."""
from __future__ import annotations

from datetime import date

import pytest

from bridge.delivery.content import Skill, localise, view_from_summary


def test_summarise_shape():
    view = view_from_summary({
        "title": "Analyse de données",
        "issuer": {"name": "Credential Services SARL"},
        "issued": "2026-11-21T09:30:00Z",
        "achievements": [{
            "title": "Analyse de données",
            "awarding_bodies": ["Université Exemple", "École Partenaire", "Université Exemple"],
            "ects": "7.5",
            "eqf_level": 6,
            "isced_f": [{"code": "0613", "label": "Développement de logiciels"}, {"code": "0542"}],
            "esco_skills": [{"uri": "http://data.europa.eu/esco/skill/1", "label": "Python"},
                            {"uri": "urn:not-a-link", "label": None}],
            "grade": "87.5/100 (Très bien)",
        }],
    }, "fr")
    assert view.title == "Analyse de données"
    assert view.awarding_body == "Université Exemple, École Partenaire"  # not the sealing organisation
    assert view.issued == "21 novembre 2026"
    [a] = view.achievements
    assert (a.ects, a.eqf, a.grade) == ("7,5", "6", "87.5/100 (Très bien)")
    assert a.isced_f == "0613 Développement de logiciels; 0542"
    assert a.skills == (Skill("Python", "http://data.europa.eu/esco/skill/1"), Skill("urn:not-a-link", None))


def test_hand_written_shape_falls_back_to_the_issuer():
    view = view_from_summary({
        "issuer": {"name": {"de": "Hochschule", "en": "University"}},
        "issued": date(2026, 1, 2),
        "achievements": [{
            "title": {"de": "Statistik"},
            "eqf": "http://data.europa.eu/snb/eqf/7",
            "grade": {"score": 18, "max": 20},
            "skills": ["http://data.europa.eu/esco/skill/2"],
            "outcomes": [{"text": {"en": "Explain variance"},
                          "skills": [{"uri": "http://data.europa.eu/esco/skill/3", "label": "statistics"}]}],
        }],
    }, "en")
    assert view.title == "Statistik"
    assert view.awarding_body == "University"
    assert view.issued == "January 2, 2026"
    [a] = view.achievements
    assert (a.awarding_body, a.eqf, a.grade) == ("University", "7", "18 / 20")
    assert a.outcomes == ("Explain variance",)
    assert [s.label for s in a.skills] == ["http://data.europa.eu/esco/skill/2", "statistics"]


@pytest.mark.parametrize("junk", [None, [], "text", 42, {"achievements": "x", "issued": "not a date", "title": {}}])
def test_junk_gives_an_empty_view_not_an_error(junk):
    view = view_from_summary(junk, "en")
    assert view.achievements == ()
    assert view.title is None and view.awarding_body is None
    assert view.issued in (None, "not a date")


@pytest.mark.parametrize(("value", "expected"), [
    ({"fr": "Bonjour", "en": "Hello"}, "Bonjour"),
    ({"de": "Hallo", "en": "Hello"}, "Hello"),
    ({"de": "Hallo"}, "Hallo"),
    ({"fr": "  ", "en": ""}, None),
    (["", {"fr": "Un"}], "Un"),
    (5, "5"),
])
def test_localise(value, expected):
    assert localise(value, "fr") == expected
