"""The studio form of the credential block: validation and the course template it produces.

Checked here before anything is sent so the course team gets one message per field, named like the
sidecar's own template fields (``title.fr``, ``learning_outcomes[0].esco_skills``): errors the sidecar
finds later map onto the same form elements.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

MODES = ("online", "blended", "presential", "work-based", "project-based", "research-lab-based")
LEARNING_SETTINGS = ("formal", "non-formal")
MAX_SKILLS = 3
MAX_OUTCOMES = 50
MAX_TITLE = 500
MAX_TEXT = 1000
MAX_DESCRIPTION = 4000
_LANG = re.compile(r"^[a-z]{2}$")
_ESCO_SKILL = re.compile(r"^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_ISCED = re.compile(r"^\d{2,4}$")

Translate = Callable[[str], str]


@dataclass
class FormResult:
    """Normalised field values, or the per-field errors that prevented them."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.errors.append({"field": name, "message": message})


def _number(raw: Any) -> float | None:
    """Numbers typed in a form: '7.5', '7,5', 7.5; '' means not given."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        return float(raw.strip().replace(",", "."))
    raise ValueError


def _lang_map(result: FormResult, name: str, raw: Any, languages: list[str], max_len: int, required: bool,
              _: Translate) -> dict[str, str]:
    """A text per course language; blank entries dropped, missing ones reported when required."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        result.add(name, _("Expected one text per language."))
        return {}
    out: dict[str, str] = {}
    for lang in languages:
        value = raw.get(lang, "")
        if not isinstance(value, str):
            result.add(f"{name}.{lang}", _("Expected a text."))
            continue
        value = value.strip()
        if len(value) > max_len:
            result.add(f"{name}.{lang}", _("At most {max} characters.").format(max=max_len))
        elif value:
            out[lang] = value
        elif required:
            result.add(f"{name}.{lang}", _("Required in this language ({lang}).").format(lang=lang))
    return out


def _skills(result: FormResult, name: str, raw: Any, _: Translate) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_SKILLS:
        result.add(name, _("Choose 1 to {max} ESCO skills.").format(max=MAX_SKILLS))
        return []
    skills: list[dict[str, Any]] = []
    for j, item in enumerate(raw):
        uri = item.get("uri") if isinstance(item, Mapping) else item
        if not isinstance(uri, str) or not _ESCO_SKILL.match(uri.strip()):
            result.add(f"{name}[{j}]", _("Not an ESCO skill: choose one from the search results."))
            continue
        labels = item.get("labels") if isinstance(item, Mapping) else None
        clean = {k: v.strip() for k, v in (labels or {}).items()
                 if isinstance(k, str) and _LANG.match(k) and isinstance(v, str) and v.strip()}
        if any(s["uri"] == uri.strip() for s in skills):
            result.add(f"{name}[{j}]", _("This skill is chosen twice."))
            continue
        skills.append({"uri": uri.strip(), "labels": clean})
    return skills


def validate_form(data: Any, _: Translate = lambda s: s) -> FormResult:
    """Check the studio form; ``values`` hold the block's field values when ``errors`` is empty."""
    result = FormResult()
    if not isinstance(data, Mapping):
        result.add("", _("The form data must be a JSON object."))
        return result
    v = result.values
    name = data.get("display_name", "")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        result.add("display_name", _("Give the block a name (at most 200 characters)."))
    else:
        v["display_name"] = name.strip()

    languages = data.get("languages")
    if (not isinstance(languages, list) or not languages
            or not all(isinstance(x, str) and _LANG.match(x) for x in languages)):
        result.add("languages", _("Choose at least one language (two-letter codes such as en, fr)."))
        languages = []
    elif len(set(languages)) != len(languages):
        result.add("languages", _("Each language may be chosen once."))
    v["languages"] = list(languages)

    v["title"] = _lang_map(result, "title", data.get("title"), languages, MAX_TITLE, True, _)
    v["description"] = _lang_map(result, "description", data.get("description"), languages, MAX_DESCRIPTION,
                                 False, _)

    try:
        ects = _number(data.get("ects"))
        if ects is not None and not 0 < ects <= 999:
            raise ValueError
        v["ects"] = ects
    except ValueError:
        result.add("ects", _("ECTS credits: a number above 0, such as 5 or 7.5."))
    try:
        eqf = _number(data.get("eqf_level"))
        if eqf is not None and (eqf != int(eqf) or not 1 <= eqf <= 8):
            raise ValueError
        v["eqf_level"] = None if eqf is None else int(eqf)
    except ValueError:
        result.add("eqf_level", _("EQF level: a whole number from 1 to 8."))
    isced = data.get("isced_f") or ""
    if not isinstance(isced, str) or (isced.strip() and not _ISCED.match(isced.strip())):
        result.add("isced_f", _("ISCED-F field: a code of 2 to 4 digits, such as 0613."))
    else:
        v["isced_f"] = isced.strip()
    mode = data.get("mode") or "online"
    if mode not in MODES:
        result.add("mode", _("Choose a mode of learning from the list."))
    v["mode"] = mode
    setting = data.get("learning_setting") or "non-formal"
    if setting not in LEARNING_SETTINGS:
        result.add("learning_setting", _("Choose formal or non-formal."))
    v["learning_setting"] = setting
    try:
        hours = _number(data.get("volume_hours"))
        if hours is not None and not 0 < hours <= 100000:
            raise ValueError
        v["volume_hours"] = hours
    except ValueError:
        result.add("volume_of_learning", _("Volume of learning: a number of hours above 0."))

    outcomes = data.get("outcomes")
    if outcomes is None:
        outcomes = []
    # No outcome is allowed: courses without ESCO tagging still issue (the sidecar accepts such templates);
    # the form shows a hint instead (messages.NO_OUTCOMES).
    if not isinstance(outcomes, list) or len(outcomes) > MAX_OUTCOMES:
        result.add("learning_outcomes", _("Expected a list of at most %(n)d learning outcomes.") % {"n": MAX_OUTCOMES})
        outcomes = []
    clean_outcomes = []
    for i, outcome in enumerate(outcomes):
        field_name = f"learning_outcomes[{i}]"
        if not isinstance(outcome, Mapping):
            result.add(field_name, _("Expected an outcome with a text and ESCO skills."))
            continue
        text = _lang_map(result, f"{field_name}.text", outcome.get("text"), languages, MAX_TEXT, True, _)
        skills = _skills(result, f"{field_name}.esco_skills", outcome.get("esco_skills"), _)
        clean_outcomes.append({"text": text, "esco_skills": skills})
    v["outcomes"] = clean_outcomes
    return result


def volume_duration(hours: float | None) -> str | None:
    """Hours as an ISO 8601 duration (PT125H, PT1H30M), the form ELM's volumeOfLearning takes."""
    if hours is None:
        return None
    minutes = round(hours * 60)
    whole, rest = divmod(minutes, 60)
    return f"PT{whole}H" + (f"{rest}M" if rest else "")


def build_template(values: Mapping[str, Any], awarding_body: Mapping[str, Any],
                   assessment: Mapping[str, Any] | None = None,
                   policy: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The course template of docs/architecture.md from the block's fields and the site settings."""
    template: dict[str, Any] = {
        "title": dict(values["title"]),
        "learning_outcomes": [{"text": dict(o["text"]),
                               "esco_skills": [{"uri": s["uri"], **({"labels": dict(s["labels"])}
                                                                   if s.get("labels") else {})}
                                               for s in o["esco_skills"]]}
                              for o in values["outcomes"]],
        "languages": list(values["languages"]),
        "mode": values["mode"],
        "learning_setting": values["learning_setting"],
        "awarding_body": dict(awarding_body),
    }
    if values.get("description"):
        template["description"] = dict(values["description"])
    optional = {"ects": values.get("ects"), "eqf_level": values.get("eqf_level"),
                "isced_f": values.get("isced_f") or None,
                "volume_of_learning": volume_duration(values.get("volume_hours"))}
    template.update({k: v for k, v in optional.items() if v is not None})
    if assessment:
        template["assessment"] = dict(assessment)
    if policy:
        template["policy"] = dict(policy)
    return template
