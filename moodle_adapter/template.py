"""Build the sidecar's course template from Moodle course data and competencies.

The teacher's ESCO tags are the course competencies whose ``idnumber`` is an ESCO skill URI (see
the competency-framework import); other competencies are local and left out with a warning.
Custom fields carry ECTS, EQF level, ISCED-F code and languages; config defaults fill the rest
(awarding body, mode, assessment…), since Moodle has no place for them.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from moodle_adapter.text import language_code, language_map

ESCO_SKILL_URI = re.compile(r"^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                            r"[0-9a-f]{4}-[0-9a-f]{12}$")


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
        """Stable hash, so an unchanged template is not PUT again on every run."""
        canonical = json.dumps(self.template, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def custom_fields(course: dict[str, Any]) -> dict[str, str]:
    """Custom field values by short name; select fields give their label, others their raw value."""
    values: dict[str, str] = {}
    for item in course.get("customfields") or []:
        if item.get("type") == "select":
            raw = item.get("value")
        else:
            raw = item.get("valueraw", item.get("value"))
        if raw is not None and str(raw).strip() != "":
            values[str(item.get("shortname"))] = str(raw).strip()
    return values


def is_marked(course: dict[str, Any], marker_field: str) -> bool:
    """A course is marked for credentials when its marker field is set (checkbox ticked, text non-empty)."""
    value = custom_fields(course).get(marker_field, "")
    return value.lower() not in ("", "0", "no", "false", "non")


def _ects(value: str, name: str) -> int | float:
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        raise CourseDataError(f"customfield {name}", f"ECTS must be a number, got {value!r}") from None
    if not 0 < number <= 240:
        raise CourseDataError(f"customfield {name}", f"ECTS credits must be between 0 and 240, got {value!r}")
    return int(number) if number.is_integer() else number


def _eqf(value: str, name: str) -> int:
    match = re.fullmatch(r"(?:(?:eqf|level|niveau)\s*)?([1-8])", value.strip(), re.IGNORECASE)
    if not match:
        raise CourseDataError(f"customfield {name}", f"EQF level must be 1 to 8, got {value!r}")
    return int(match.group(1))


def _isced(value: str, name: str) -> str:
    code = value.strip().split(" ")[0]
    if re.fullmatch(r"\d{3}", code):  # a number field drops the leading zero of "0613"
        code = "0" + code
    if not re.fullmatch(r"\d{4}", code):
        raise CourseDataError(f"customfield {name}", f"ISCED-F must be a 4-digit field code, got {value!r}")
    return code


def _languages(value: str, name: str) -> list[str]:
    codes = []
    for part in re.split(r"[,;\s]+", value):
        if not part:
            continue
        code = language_code(part)
        if code is None:
            raise CourseDataError(f"customfield {name}", f"not a language code: {part!r}")
        if code not in codes:
            codes.append(code)
    return codes


def learning_outcomes(competencies: list[dict[str, Any]],
                      lang: str) -> tuple[list[dict[str, Any]], list[str]]:
    """One learning outcome per ESCO-tagged competency, in the course's competency order."""
    outcomes: list[dict[str, Any]] = []
    warnings: list[str] = []
    seen: set[str] = set()
    for entry in competencies:
        comp = entry.get("competency") or {}
        idnumber = str(comp.get("idnumber") or "").strip()
        label = f"competency {comp.get('id')} ({comp.get('shortname', '')!s})"
        if not ESCO_SKILL_URI.match(idnumber):
            warnings.append(f"{label}: idnumber {idnumber!r} is not an ESCO skill URI; ignored")
            continue
        if idnumber in seen:
            continue
        seen.add(idnumber)
        text = language_map(comp.get("shortname"), lang) or language_map(comp.get("description"), lang)
        if not text:
            warnings.append(f"{label}: no short name or description; not carried as an outcome")
            continue
        outcomes.append({"text": text, "esco_skills": [idnumber]})
    return outcomes, warnings


def build_template(course: dict[str, Any], competencies: list[dict[str, Any]], fields: dict[str, str],
                   defaults: dict[str, Any], policy: dict[str, Any] | None = None) -> BuiltTemplate:
    """Merge config defaults, course metadata and competencies into one course template."""
    template = copy.deepcopy(defaults)
    values = custom_fields(course)
    languages = list(template.get("languages") or [])
    if fields["language"] in values:
        languages = _languages(values[fields["language"]], fields["language"])
    course_lang = language_code(course.get("lang"))
    if not languages:
        languages = [course_lang or "en"]
    lang = course_lang if course_lang in languages else languages[0]
    template["languages"] = languages

    title = language_map(course.get("fullname") or course.get("displayname"), lang)
    if not title:
        raise CourseDataError("fullname", "the course has no name")
    template["title"] = title
    description = language_map(course.get("summary"), lang)
    if description:
        template["description"] = description
    if fields["ects"] in values:
        template["ects"] = _ects(values[fields["ects"]], fields["ects"])
    if fields["eqf_level"] in values:
        template["eqf_level"] = _eqf(values[fields["eqf_level"]], fields["eqf_level"])
    if fields["isced_f"] in values:
        template["isced_f"] = _isced(values[fields["isced_f"]], fields["isced_f"])
    outcomes, warnings = learning_outcomes(competencies, lang)
    template["learning_outcomes"] = outcomes
    if not outcomes:
        warnings.append("no ESCO-tagged competency: the credential will carry no learning outcome")
    if policy:
        template["policy"] = copy.deepcopy(policy)
    return BuiltTemplate(template, warnings)
