"""Turn a credential summary into the plain, localised strings the e-mail templates print.

The summary comes from ``bridge.elm.summary.summarise`` and describes credentials built from many
templates and versions, so every key may be missing or shaped a little differently (a language map
instead of a string, a grade object instead of text, ``awarding_bodies``/``eqf_level``/``esco_skills``
as summarise writes them or ``awarding_body``/``eqf``/``skills`` as hand-written summaries do).
Doing the defensive work here keeps the templates trivial and keeps one odd credential from
blocking a learner's mail.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date
from babel.numbers import format_decimal


@dataclass(frozen=True)
class Skill:
    """An ESCO skill; ``uri`` is only kept when it is an http(s) link safe to put in ``href``."""

    label: str
    uri: str | None


@dataclass(frozen=True)
class Achievement:
    """One learning achievement of the credential, every field ready to print (or None to skip)."""

    title: str | None
    awarding_body: str | None
    ects: str | None
    eqf: str | None
    isced_f: str | None
    outcomes: tuple[str, ...]
    skills: tuple[Skill, ...]
    grade: str | None


@dataclass(frozen=True)
class CredentialView:
    """What the message says about the credential as a whole."""

    title: str | None
    awarding_body: str | None
    issued: str | None
    achievements: tuple[Achievement, ...]


def localise(value: Any, lang: str) -> str | None:
    """Pick ``lang`` from a language map, then English, then any language; plain values pass through."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        for key in (lang, "en"):
            text = localise(value.get(key), lang)
            if text:
                return text
        for item in value.values():
            text = localise(item, lang)
            if text:
                return text
        return None
    if isinstance(value, list | tuple):
        for item in value:
            text = localise(item, lang)
            if text:
                return text
        return None
    text = str(value).strip()
    return text or None


def is_web_link(uri: Any) -> bool:
    """Only http(s) URIs become links: a ``javascript:`` or ``data:`` URI must never reach an href."""
    if not isinstance(uri, str):
        return False
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _number(value: Any, lang: str) -> str | None:
    """ECTS and scores in the learner's convention (2.5 → "2,5" in French); text passes through."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return format_decimal(Decimal(str(value)), locale=lang)
    except (InvalidOperation, ValueError):
        return localise(value, lang)


def _eqf(value: Any, lang: str) -> str | None:
    """EQF levels arrive as 6, "6" or the code-list URI ``http://data.europa.eu/snb/eqf/6``."""
    if isinstance(value, Mapping):
        value = value.get("id") or value.get("uri") or localise(value.get("prefLabel"), lang)
    text = localise(value, lang)
    if text and "/" in text:
        tail = text.rstrip("/").rsplit("/", 1)[-1]
        return tail if tail.isdigit() else text
    return text


def _date(value: Any, lang: str) -> str | None:
    if isinstance(value, datetime):
        return format_date(value.date(), format="long", locale=lang)
    if isinstance(value, date):
        return format_date(value, format="long", locale=lang)
    text = localise(value, lang)
    if not text:
        return None
    try:
        return format_date(datetime.fromisoformat(text).date(), format="long", locale=lang)
    except ValueError:
        return text


def _grade(value: Any, lang: str) -> str | None:
    if isinstance(value, Mapping):
        text = localise(value.get("text"), lang)
        if text:
            return text
        score, maximum = _number(value.get("score"), lang), _number(value.get("max"), lang)
        if score and maximum:
            return f"{score} / {maximum}"
        return score
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _number(value, lang)
    return localise(value, lang)


def _name(value: Any, lang: str) -> str | None:
    if isinstance(value, Mapping) and ("name" in value or "legal_name" in value):
        return localise(value.get("name") or value.get("legal_name"), lang)
    return localise(value, lang)


def _names(value: Any, lang: str) -> str | None:
    """One or several awarding bodies (``summarise`` gives a list) as one line."""
    items = value if isinstance(value, list | tuple) else [value]
    names = [name for name in (_name(item, lang) for item in items) if name]
    return ", ".join(dict.fromkeys(names)) or None


def _isced(value: Any, lang: str) -> str | None:
    """ISCED-F as a code, or ``summarise``'s ``[{code, label}]`` printed as "0613 Software …"."""
    if not isinstance(value, list | tuple):
        return localise(value, lang)
    fields = []
    for item in value:
        if isinstance(item, Mapping):
            parts = [localise(item.get("code"), lang), localise(item.get("label"), lang)]
            text = " ".join(p for p in parts if p)
        else:
            text = localise(item, lang) or ""
        if text:
            fields.append(text)
    return "; ".join(fields) or None


def _skills(value: Any, lang: str) -> tuple[Skill, ...]:
    skills = []
    for item in value if isinstance(value, list | tuple) else ():
        if isinstance(item, Mapping):
            uri = item.get("uri") or item.get("id")
            label = localise(item.get("label") or item.get("labels") or item.get("prefLabel"), lang)
        else:
            uri, label = item, None
        label = label or localise(uri, lang)
        if label:
            skills.append(Skill(label=label, uri=uri if is_web_link(uri) else None))
    return tuple(skills)


def _outcomes(value: Any, lang: str) -> tuple[tuple[str, ...], tuple[Skill, ...]]:
    """Outcomes are texts; some summaries nest the outcome's skills, which then join the skill list."""
    texts: list[str] = []
    nested: list[Skill] = []
    for item in value if isinstance(value, list | tuple) else ():
        if isinstance(item, Mapping) and ("text" in item or "skills" in item or "esco_skills" in item):
            text = localise(item.get("text"), lang)
            nested.extend(_skills(item.get("skills") or item.get("esco_skills"), lang))
        else:
            text = localise(item, lang)
        if text:
            texts.append(text)
    return tuple(texts), tuple(nested)


def _achievement(raw: Mapping[str, Any], lang: str, default_body: str | None) -> Achievement:
    outcomes, nested_skills = _outcomes(raw.get("learning_outcomes") or raw.get("outcomes"), lang)
    skills: dict[tuple[str, str | None], Skill] = {}
    for skill in (*_skills(raw.get("skills"), lang), *_skills(raw.get("esco_skills"), lang), *nested_skills):
        skills.setdefault((skill.label, skill.uri), skill)
    return Achievement(
        title=localise(raw.get("title"), lang),
        awarding_body=_names(raw.get("awarding_body") or raw.get("awarding_bodies"), lang) or default_body,
        ects=_number(raw.get("ects"), lang),
        eqf=_eqf(raw.get("eqf", raw.get("eqf_level")), lang),
        isced_f=_isced(raw.get("isced_f"), lang),
        outcomes=outcomes,
        skills=tuple(skills.values()),
        grade=_grade(raw.get("grade"), lang),
    )


def view_from_summary(summary: Mapping[str, Any] | None, lang: str) -> CredentialView:
    """Build the printable view; anything missing or malformed is left out rather than failing."""
    summary = summary if isinstance(summary, Mapping) else {}
    issuer = _name(summary.get("issuer"), lang)
    raw_achievements = summary.get("achievements")
    achievements = tuple(
        _achievement(item, lang, issuer)
        for item in (raw_achievements if isinstance(raw_achievements, list | tuple) else ())
        if isinstance(item, Mapping)
    )
    # Learners know the awarding body (their university), not necessarily the sealing organisation
    # acting under its mandate, so the opening sentence names the former when the summary has it.
    body = _names(summary.get("awarding_body"), lang) or _names(
        [a.awarding_body for a in achievements if a.awarding_body], lang
    ) or issuer
    title = localise(summary.get("title"), lang) or next((a.title for a in achievements if a.title), None)
    return CredentialView(
        title=title,
        awarding_body=body,
        issued=_date(summary.get("issued"), lang),
        achievements=achievements,
    )
