"""Search over the full reference data (13,485 skills, en + fr) and the newer-format fixture."""
from __future__ import annotations

import pytest

from bridge.esco.normalize import fold, index_tokens, words
from bridge.esco.search import SearchIndex
from bridge.esco.service import EscoQueryError, EscoService

from .conftest import ADAPT_TO_CHANGE, SKILL

TIER_ORDER = {"preferred": 0, "alternative": 1, "description": 2}


def test_folding_is_accent_case_and_apostrophe_insensitive() -> None:
    assert fold("Compétence ŒUVRE") == "competence oeuvre"
    assert words("S’adapter AU changement") == ["s", "adapter", "au", "changement"]
    assert {"s", "adapter", "sadapter"} <= index_tokens("s'adapter")


@pytest.mark.parametrize(("query", "lang"), [
    ("adapt to change", "en"),
    ("s'adapter au changement", "fr"),
    ("S’ADAPTER AU CHANGEMENT", "fr"),
    ("sadapter au changement", "fr"),
    ("s adapter au chang", "fr"),
    ("adapt to chan", "en"),
    ("adapt to the change", "en"),
])
def test_eccoe_example_ranks_first(ref_service: EscoService, query: str, lang: str) -> None:
    hits = ref_service.search(query, lang=lang)
    assert hits[0].uri == ADAPT_TO_CHANGE
    assert hits[0].matched_field == "preferred"
    assert hits[0].label == {"en": "adapt to change", "fr": "s'adapter au changement"}[lang]


def test_unaccented_query_finds_accented_labels(ref_service: EscoService) -> None:
    hits = ref_service.search("competence", lang="fr", limit=20)
    assert len(hits) == 20
    assert all("compétence" in fold(h.matched_text) or "competence" in fold(h.matched_text) for h in hits)
    assert any("compétence" in h.label for h in hits)
    assert ref_service.search("gerer le personnel", lang="fr")[0].label == "gérer le personnel"


def test_last_word_is_a_prefix_only_while_typing(ref_service: EscoService) -> None:
    assert ref_service.search("pytho", lang="en")[0].label == "Python"
    assert ref_service.search("pytho ", lang="en") == []  # a finished word must match whole


def test_tiers_are_ranked_preferred_alternative_description(ref_service: EscoService) -> None:
    hits = ref_service.search("javascript", lang="en", limit=50)
    tiers = [TIER_ORDER[h.matched_field] for h in hits]
    assert tiers == sorted(tiers)
    assert {"preferred", "description"} <= {h.matched_field for h in hits}
    assert hits[0].label == "JavaScript"


def test_alternative_label_beats_description(newer_service: EscoService) -> None:
    hits = newer_service.search("bread", lang="en")
    assert [(h.label, h.matched_field) for h in hits] == [
        ("bake bread", "preferred"), ("food hygiene", "description")]
    hit = newer_service.search("making", lang="en")[0]
    assert (hit.label, hit.matched_field, hit.matched_text) == ("bake bread", "alternative", "bread making")


def test_hidden_labels_match_but_are_not_shown(newer_service: EscoService) -> None:
    hit = newer_service.search("baek", lang="en")[0]
    assert (hit.label, hit.matched_field, hit.matched_text) == ("bake bread", "alternative", "bake bread")


def test_obsolete_skills_never_appear(newer_service: EscoService) -> None:
    assert newer_service.search("knead dough", lang="en") == []
    assert newer_service.search("shape", lang="en") == []


def test_other_languages_of_an_import(newer_service: EscoService) -> None:
    assert [h.label for h in newer_service.search("brot", lang="de")] == ["Brot backen"]


def test_filters_by_skill_type_and_reuse_level(ref_service: EscoService) -> None:
    hits = ref_service.search("manage", lang="en", limit=30, skill_type="knowledge")
    assert hits and all(h.skill_type == "knowledge" for h in hits)
    skills = ref_service.search("manage", lang="en", limit=30, skill_type="skill")  # ESCO API's name
    assert skills == ref_service.search("manage", lang="en", limit=30, skill_type="skill/competence")
    assert skills and all(h.skill_type == "skill/competence" for h in skills)
    hits = ref_service.search("adapt", lang="en", limit=30, reuse_level="transversal")
    assert hits and all(h.reuse_level == "transversal" for h in hits)
    assert ADAPT_TO_CHANGE in {h.uri for h in hits}
    unfiltered = {h.uri for h in ref_service.search("adapt", lang="en", limit=30)}
    sector = ref_service.search("adapt", lang="en", limit=30, reuse_level="sector-specific")
    filtered = {h.uri for h in sector}
    assert filtered and not filtered & {h.uri for h in hits}
    assert unfiltered != filtered


def test_limit_and_stable_results(ref_service: EscoService) -> None:
    first = ref_service.search("a", lang="en", limit=7)
    assert len(first) == 7
    assert first == ref_service.search("a", lang="en", limit=7)
    assert all(h.uri.startswith(SKILL) for h in first)


def test_invalid_parameters_are_all_reported(ref_service: EscoService) -> None:
    with pytest.raises(EscoQueryError) as excinfo:
        ref_service.search(" ", lang="xx", limit=0, skill_type="soft", reuse_level="global")
    assert [field for field, _ in excinfo.value.errors] == ["q", "lang", "limit", "skill_type", "reuse_level"]
    with pytest.raises(EscoQueryError, match="limit"):
        ref_service.search("x", limit=101)


@pytest.mark.parametrize(("query", "lang"), [("adapt", "en"), ("adapt to", "en"), ("gérer le p", "fr"),
                                             ("teach ", "en"), ("enseigner ", "fr")])
def test_top_hits_do_not_depend_on_limit(ref_service: EscoService, query: str, lang: str) -> None:
    """A small limit takes the sorted-label shortcut, a large one scores every candidate: the top
    of both rankings must agree."""
    short = ref_service.search(query, lang=lang, limit=10)
    full = ref_service.search(query, lang=lang, limit=100)
    assert len(short) == 10 and len(full) > 10
    assert [h.uri for h in short] == [h.uri for h in full[:10]]
    assert all(fold(h.label).startswith(fold(query).strip()) for h in short)


def test_untranslated_label_falls_back_to_english() -> None:
    """A row with alternative labels but no preferred label in a language still shows a label."""
    index = SearchIndex([{"uri": SKILL + "00000000-0000-4000-8000-000000000009",
                          "concept_type": "KnowledgeSkillCompetence", "pref": {"en": "bake bread"},
                          "alt": {"de": ["Brotherstellung"]}, "status": "released"}])
    hits = index.search("brot", "de", 5)
    assert [(h.label, h.matched_field, h.matched_text) for h in hits] == [
        ("bake bread", "alternative", "Brotherstellung")]
