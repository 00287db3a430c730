"""Searching the catalogue: ours and the partners' learning opportunities, filtered as ``/catalogue`` asks.

Every course, ours or harvested, is first reduced to :class:`Searchable` (titles and skill labels in
every language, ECTS, EQF level, language codes, mode), so one set of rules filters both. Text
matches ignore case and accents ("donnees" finds "Données"); a skill is an ESCO URI (exact) or words
of its label in any language.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

OURS = "ours"


@dataclass(frozen=True)
class Filters:
    """What the reader asked for; ``partner`` is ``None`` (everything), ``ours`` or a partner's name."""

    q: str | None = None
    skill: str | None = None
    ects_min: float | None = None
    ects_max: float | None = None
    eqf: int | None = None
    language: str | None = None
    mode: str | None = None
    partner: str | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.q, self.skill, self.ects_min, self.ects_max, self.eqf,
                                            self.language, self.mode, self.partner))


@dataclass(frozen=True)
class Searchable:
    origin: str  # OURS or the partner's name
    titles: list[str]
    skills: list[tuple[str, list[str]]] = field(default_factory=list)  # (URI, labels in every language)
    ects: float | None = None
    eqf: int | None = None
    languages: list[str] = field(default_factory=list)
    mode: str | None = None


def fold(text: str) -> str:
    """Lower case without accents, for matching what people type."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words_in(words: list[str], texts: list[str]) -> bool:
    folded = [fold(t) for t in texts]
    return all(any(word in t for t in folded) for word in words)


def matches(item: Searchable, filters: Filters) -> bool:
    """Whether one course passes every filter given."""
    if filters.partner is not None and item.origin != filters.partner:
        return False
    if filters.q and not _words_in(fold(filters.q).split(), item.titles):
        return False
    if filters.skill:
        wanted = filters.skill.strip()
        if wanted.startswith(("http://", "https://")):
            if wanted not in [uri for uri, _labels in item.skills]:
                return False
        elif not any(_words_in(fold(wanted).split(), labels) for _uri, labels in item.skills):
            return False
    if filters.ects_min is not None and (item.ects is None or item.ects < filters.ects_min):
        return False
    if filters.ects_max is not None and (item.ects is None or item.ects > filters.ects_max):
        return False
    if filters.eqf is not None and item.eqf != filters.eqf:
        return False
    if filters.language and filters.language not in item.languages:
        return False
    return not (filters.mode and item.mode != filters.mode)


def ours(template: Any, skill_labels: Any = None) -> Searchable:
    """One of our course templates (:class:`bridge.elm.template.CourseTemplate`) made searchable; skills
    carry the ESCO service's labels (``skill_labels(uri)``) besides the template's."""
    skills: dict[str, list[str]] = {}
    for outcome in template.learning_outcomes:
        for skill in outcome.esco_skills:
            known = (skill_labels(skill.uri) if skill_labels else None) or {}
            skills.setdefault(skill.uri, [*known.values(), *(skill.labels or {}).values()])
    return Searchable(origin=OURS, titles=list(template.title.values()), skills=list(skills.items()),
                      ects=float(template.ects) if template.ects is not None else None, eqf=template.eqf_level,
                      languages=list(template.languages), mode=template.mode)


def harvested(partner: str, view: dict[str, Any]) -> Searchable:
    """A harvested learning opportunity (:func:`bridge.catalogue.read.view`) made searchable."""
    skills: dict[str, list[str]] = {}
    for outcome in view.get("outcomes") or []:
        for skill in outcome.get("skills") or []:
            skills.setdefault(skill["uri"], list((skill.get("labels") or {}).values()))
    return Searchable(origin=partner, titles=list((view.get("title") or {}).values()), skills=list(skills.items()),
                      ects=view.get("ects"), eqf=view.get("eqf_level"), languages=list(view.get("languages") or []),
                      mode=view.get("mode"))
