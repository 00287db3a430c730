"""The course template, built from one Moodle course by the rules both routes share.

The poller (from Web Services answers) and the plugin (``classes/local/rules.php``, from Moodle's
APIs) first reduce a course to the same plain inputs, then apply these rules, so the sidecar gets
one template per course whichever route sends it; ``tests/moodle/vectors/rules.json`` holds the
cases both implementations must answer identically.

Inputs: ``course`` = ``{"id", "fullname", "summary", "lang"}`` with raw (unfiltered) text;
``customfields`` = ``{shortname: {"type", "value", "label"}}`` where ``value`` is the stored value
and ``label`` the displayed one (the option of a select field); ``competencies`` = the course's
competencies ``[{"id", "shortname", "idnumber", "description"}]``. ESCO-tagged competencies
(``idnumber`` = an ESCO skill URI) become learning outcomes; custom fields give ECTS, EQF level,
ISCED-F and languages; configured defaults fill what Moodle has no place for.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from moodle_adapter.multilang import language_code, language_map, plain_text, render, trim, truncate

ESCO_SKILL_URI = re.compile(r"http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                            r"[0-9a-f]{4}-[0-9a-f]{12}")
FIELD_KEYS = ("ects", "eqf_level", "isced_f", "language", "skills_required")
DEFAULT_FIELDS = {"ects": "edc_ects", "eqf_level": "edc_eqf", "isced_f": "edc_iscedf", "language": "edc_lang",
                  "skills_required": "edc_skills_required"}
FALSE_WORDS = ("", "0", "no", "false", "non", "off")
# Longest texts the sidecar accepts (bridge.elm.template): longer ones are cut at a word boundary.
TITLE_MAX, DESCRIPTION_MAX, OUTCOME_MAX = 500, 4000, 1000


class CourseDataError(Exception):
    """A course's data cannot make a valid template; ``field`` names the Moodle field at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class BuiltTemplate:
    template: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        """Stable hash of the template, so an unchanged template is not sent again."""
        return template_digest(self.template)


def template_digest(template: dict[str, Any]) -> str:
    canonical = json.dumps(template, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def field_text(item: dict[str, Any] | None) -> str:
    """The value a rule reads from a custom field: a select's option label, else the stored value."""
    if not item:
        return ""
    raw = item.get("label") if item.get("type") == "select" else item.get("value")
    if raw is None:
        return ""
    text = str(raw)
    if item.get("type") == "select":  # an option label may itself be multilingual
        text = render(text, "en")
    return plain_text(text)


def is_ticked(customfields: dict[str, dict[str, Any]], name: str) -> bool:
    """A checkbox ticked (or a text field set to anything but 0/no/false) marks the course."""
    return field_text(customfields.get(name)).lower() not in FALSE_WORDS


def _ects(value: str, name: str) -> int | float:
    text = value.replace(",", ".")
    if not re.fullmatch(r"[0-9]{1,3}(?:\.[0-9]{1,2})?", text, re.ASCII):
        raise CourseDataError(f"customfield {name}", f"ECTS must be a number with at most 2 decimals, got '{value}'")
    number = float(text)
    if not 0 < number <= 240:
        raise CourseDataError(f"customfield {name}", f"ECTS credits must be more than 0 and at most 240, "
                                                     f"got '{value}'")
    return int(number) if number.is_integer() else number


def _eqf(value: str, name: str) -> int:
    match = re.fullmatch(r"(?:(?:eqf|level|niveau|cec)\s*)?([1-8])", value, re.IGNORECASE | re.ASCII)
    if not match:
        raise CourseDataError(f"customfield {name}", f"EQF level must be 1 to 8, got '{value}'")
    return int(match.group(1))


def _isced(value: str, name: str) -> str:
    code = value.split(" ")[0]
    if re.fullmatch(r"\d{3}", code, re.ASCII):  # a number field drops the leading zero of "0613"
        code = "0" + code
    if not re.fullmatch(r"\d{4}", code, re.ASCII):
        raise CourseDataError(f"customfield {name}", f"ISCED-F must be a 4-digit field code, got '{value}'")
    return code


def _languages(value: str, name: str) -> list[str]:
    codes: list[str] = []
    for part in re.split(r"[,; \t\r\n]+", value):
        if not part:
            continue
        code = language_code(part)
        if code is None:
            raise CourseDataError(f"customfield {name}", f"'{part}' is not a language EDC supports")
        if code not in codes:
            codes.append(code)
    return codes


def _text(value: Any, lang: str, where: str, limit: int, warnings: list[str]) -> dict[str, str]:
    found, dropped = language_map(str(value) if value is not None else "", lang)
    for code in dropped:
        warnings.append(f"{where}: text in '{code}' left out (not a language EDC supports)")
    return {code: truncate(text, limit) for code, text in found.items()}


def learning_outcomes(competencies: list[dict[str, Any]], lang: str,
                      warnings: list[str]) -> list[dict[str, Any]]:
    """One learning outcome per ESCO-tagged competency, in the course's competency order."""
    outcomes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for comp in competencies:
        idnumber = trim(str(comp.get("idnumber") or ""))
        label = f"competency {comp.get('id')}"
        if not ESCO_SKILL_URI.fullmatch(idnumber):
            warnings.append(f"{label}: idnumber '{idnumber}' is not an ESCO skill URI; not on the credential")
            continue
        if idnumber in seen:
            continue
        seen.add(idnumber)
        text = (_text(comp.get("shortname"), lang, label, OUTCOME_MAX, warnings)
                or _text(comp.get("description"), lang, label, OUTCOME_MAX, warnings))
        if not text:
            warnings.append(f"{label}: no short name or description in a language EDC supports; "
                            "not on the credential")
            continue
        outcomes.append({"text": text, "esco_skills": [idnumber]})
    return outcomes


def build_template(course: dict[str, Any], customfields: dict[str, dict[str, Any]],
                   competencies: list[dict[str, Any]], fields: dict[str, str], defaults: dict[str, Any],
                   policy: dict[str, Any] | None = None) -> BuiltTemplate:
    """Merge configured defaults, course metadata and competencies into one course template."""
    names = {**DEFAULT_FIELDS, **{k: v for k, v in fields.items() if v}}
    template = copy.deepcopy(defaults)
    warnings: list[str] = []
    values = {name: field_text(item) for name, item in customfields.items()}
    values = {name: text for name, text in values.items() if text}

    if names["language"] in values:
        languages = _languages(values[names["language"]], names["language"])
    else:
        languages = [c for c in (language_code(str(x)) for x in template.get("languages") or []) if c]
    course_lang = language_code(course.get("lang"))
    if not languages:
        languages = [course_lang or "en"]
    lang = course_lang if course_lang in languages else languages[0]
    template["languages"] = languages

    title = _text(course.get("fullname"), lang, "fullname", TITLE_MAX, warnings)
    if not title:
        raise CourseDataError("fullname", "the course name has no text in a language EDC supports")
    template["title"] = title
    description = _text(course.get("summary"), lang, "summary", DESCRIPTION_MAX, warnings)
    if description:
        template["description"] = description
    if names["ects"] in values:
        template["ects"] = _ects(values[names["ects"]], names["ects"])
    if names["eqf_level"] in values:
        template["eqf_level"] = _eqf(values[names["eqf_level"]], names["eqf_level"])
    if names["isced_f"] in values:
        template["isced_f"] = _isced(values[names["isced_f"]], names["isced_f"])
    outcomes = learning_outcomes(competencies, lang, warnings)
    if not outcomes:
        if is_ticked(customfields, names["skills_required"]):
            raise CourseDataError(f"customfield {names['skills_required']}",
                                  "this course issues credentials only with ESCO-tagged learning outcomes and "
                                  "has none: add ESCO competencies to the course")
        warnings.append("no ESCO-tagged competency: credentials of this course carry no learning outcome")
    template["learning_outcomes"] = outcomes
    if policy:
        template["policy"] = copy.deepcopy(policy)
    return BuiltTemplate(template, warnings)
