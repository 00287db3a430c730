"""Course template: what a course awards, validated once when a teacher or LMS stores it.

The JSON shape is fixed in docs/architecture.md ("Course template"). ``from_dict`` collects every
problem into one ValidationFailed so an admin fixes a template in one round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bridge.elm import checks, codelists
from bridge.elm.errors import Collector

_TOP_KEYS = {
    "title",
    "description",
    "learning_outcomes",
    "ects",
    "eqf_level",
    "isced_f",
    "languages",
    "mode",
    "learning_setting",
    "volume_of_learning",
    "assessment",
    "awarding_body",
    "credential_profile",
    "valid_for",
}
# Part of the sidecar's HTTP contract around a template, handled elsewhere; tolerated here.
_IGNORED_KEYS = {"policy", "esco"}
_REQUIRED = {"title", "learning_outcomes", "languages", "awarding_body"}


@dataclass(frozen=True)
class EscoSkill:
    uri: str
    labels: dict[str, str] | None = None

    def to_dict(self) -> str | dict[str, Any]:
        return {"uri": self.uri, "labels": dict(self.labels)} if self.labels else self.uri


@dataclass(frozen=True)
class LearningOutcome:
    text: dict[str, str]
    esco_skills: tuple[EscoSkill, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"text": dict(self.text), "esco_skills": [s.to_dict() for s in self.esco_skills]}


@dataclass(frozen=True)
class Assessment:
    type: str
    title: dict[str, str]
    grading_scheme: dict[str, str] | None
    min_score: float | None
    max_score: float | None
    pass_score: float | None

    @property
    def type_uri(self) -> str:
        return codelists.assessment_type_uri(self.type) or self.type

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": dict(self.title),
            "grading_scheme": dict(self.grading_scheme) if self.grading_scheme else None,
            "min_score": self.min_score,
            "max_score": self.max_score,
            "pass_score": self.pass_score,
        }


@dataclass(frozen=True)
class Organisation:
    legal_name: dict[str, str]
    legal_identifier: str
    country: str
    vat_identifier: str | None = None
    homepage: str | None = None
    email: str | None = None
    logo: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "legal_name": dict(self.legal_name),
            "legal_identifier": self.legal_identifier,
            "vat_identifier": self.vat_identifier,
            "country": self.country,
            "homepage": self.homepage,
            "email": self.email,
            "logo": self.logo,
        }


@dataclass(frozen=True)
class CourseTemplate:
    title: dict[str, str]
    description: dict[str, str] | None
    learning_outcomes: tuple[LearningOutcome, ...]
    ects: float | None
    eqf_level: int | None
    isced_f: str | None
    languages: tuple[str, ...]
    mode: str | None
    learning_setting: str | None
    volume_of_learning: str | None
    assessment: Assessment | None
    awarding_body: Organisation
    credential_profile: str = "generic"
    valid_for: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> CourseTemplate:
        """Validate a template document; raises ValidationFailed listing every bad field."""
        c = Collector()
        d = checks.obj(c, "", data)
        if d is None:
            c.raise_if_any()
        assert d is not None
        checks.keys(c, "", {k: v for k, v in d.items() if k not in _IGNORED_KEYS}, _TOP_KEYS, _REQUIRED)
        title = checks.lang_map(c, "title", d.get("title"), max_len=500) if "title" in d else None
        description = checks.lang_map(c, "description", d.get("description"), required=False)
        outcomes = _outcomes(c, d.get("learning_outcomes")) if "learning_outcomes" in d else ()
        ects = checks.number(c, "ects", d.get("ects"), minimum=0, maximum=999, required=False)
        eqf = d.get("eqf_level")
        if eqf is not None and (isinstance(eqf, bool) or not isinstance(eqf, int) or not 1 <= eqf <= 8):
            c.add("eqf_level", "expected an EQF level, an integer from 1 to 8")
            eqf = None
        isced = _isced(c, d.get("isced_f"))
        languages = _languages(c, d.get("languages")) if "languages" in d else ()
        mode = _coded(c, "mode", d.get("mode"), codelists.MODE_CODES, codelists.modes())
        setting = _coded(
            c,
            "learning_setting",
            d.get("learning_setting"),
            codelists.LEARNING_SETTING_CODES,
            codelists.learning_settings(),
        )
        volume = checks.duration(c, "volume_of_learning", d.get("volume_of_learning"), required=False)
        assessment = _assessment(c, d.get("assessment"))
        body = _organisation(c, "awarding_body", d.get("awarding_body")) if "awarding_body" in d else None
        profile = d.get("credential_profile", "generic")
        if (
            not isinstance(profile, str)
            or codelists.resolve(profile, codelists.CREDENTIAL_PROFILE_CODES, codelists.credential_types())
            is None
        ):
            c.add(
                "credential_profile",
                "expected one of "
                f"{', '.join(codelists.CREDENTIAL_PROFILE_CODES)} or a credential-type code-list URI",
            )
        valid_for = checks.duration(c, "valid_for", d.get("valid_for"), required=False)
        c.raise_if_any()
        assert title is not None and body is not None
        return cls(
            title=title,
            description=description,
            learning_outcomes=tuple(outcomes),
            ects=ects,
            eqf_level=eqf,
            isced_f=isced,
            languages=tuple(languages),
            mode=mode,
            learning_setting=setting,
            volume_of_learning=volume,
            assessment=assessment,
            awarding_body=body,
            credential_profile=profile,
            valid_for=valid_for,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": dict(self.title),
            "description": dict(self.description) if self.description else None,
            "learning_outcomes": [o.to_dict() for o in self.learning_outcomes],
            "ects": self.ects,
            "eqf_level": self.eqf_level,
            "isced_f": self.isced_f,
            "languages": list(self.languages),
            "mode": self.mode,
            "learning_setting": self.learning_setting,
            "volume_of_learning": self.volume_of_learning,
            "assessment": self.assessment.to_dict() if self.assessment else None,
            "awarding_body": self.awarding_body.to_dict(),
            "credential_profile": self.credential_profile,
            "valid_for": self.valid_for,
        }

    @property
    def esco_skill_uris(self) -> list[str]:
        """Distinct ESCO skill URIs in outcome order (for lookups and the 'unknown' report)."""
        seen: dict[str, None] = {}
        for outcome in self.learning_outcomes:
            for skill in outcome.esco_skills:
                seen.setdefault(skill.uri, None)
        return list(seen)


def _outcomes(c: Collector, value: Any) -> list[LearningOutcome]:
    if not isinstance(value, list) or not value:
        c.add("learning_outcomes", "expected a non-empty list of learning outcomes")
        return []
    if len(value) > 100:
        c.add("learning_outcomes", "expected at most 100 learning outcomes")
        return []
    out = []
    for i, item in enumerate(value):
        field = f"learning_outcomes[{i}]"
        if checks.obj(c, field, item) is None:
            continue
        checks.keys(c, field, item, {"text", "esco_skills"}, {"text", "esco_skills"})
        text = checks.lang_map(c, f"{field}.text", item.get("text"), max_len=1000) if "text" in item else None
        skills = (
            _skills(c, f"{field}.esco_skills", item.get("esco_skills")) if "esco_skills" in item else None
        )
        if text is not None and skills is not None:
            out.append(LearningOutcome(text=text, esco_skills=tuple(skills)))
    return out


def _skills(c: Collector, field: str, value: Any) -> list[EscoSkill] | None:
    if not isinstance(value, list) or not value:
        c.add(field, "expected a non-empty list of ESCO skill URIs")
        return None
    skills: list[EscoSkill] = []
    ok = True
    for j, item in enumerate(value):
        sub = f"{field}[{j}]"
        labels = None
        uri = item
        if isinstance(item, dict):
            checks.keys(c, sub, item, {"uri", "labels"}, {"uri"})
            uri = item.get("uri")
            labels = checks.lang_map(c, f"{sub}.labels", item.get("labels"), required=False, max_len=500)
            if item.get("labels") is not None and labels is None:
                ok = False
        if not isinstance(uri, str) or not checks.ESCO_SKILL_RE.fullmatch(uri):
            c.add(
                sub if not isinstance(item, dict) else f"{sub}.uri",
                "expected an ESCO skill URI http://data.europa.eu/esco/skill/<uuid> (lower-case UUID)",
            )
            ok = False
            continue
        skills.append(EscoSkill(uri=uri, labels=labels))
    return skills if ok else None


def _isced(c: Collector, value: Any) -> str | None:
    if value is None:
        return None
    codes = codelists.isced_f()
    if isinstance(value, str) and (codes.by_code(value) or value in codes.labels):
        return value.rsplit("/", 1)[-1]
    c.add("isced_f", 'expected an ISCED-F 2013 field code from the code list, like "0613"')
    return None


def _languages(c: Collector, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        c.add("languages", "expected a non-empty list of ISO 639-1 language codes")
        return []
    out = [checks.language(c, f"languages[{i}]", v) for i, v in enumerate(value)]
    known = [v for v in out if v]
    if len(set(known)) != len(known):
        c.add("languages", "expected each language once")
    return known


def _coded(
    c: Collector, field: str, value: Any, table: dict[str, str], codes: codelists.CodeList
) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and codelists.resolve(value, table, codes):
        return value
    c.add(field, f"expected one of {', '.join(table)} or a code-list URI")
    return None


def _assessment(c: Collector, value: Any) -> Assessment | None:
    if value is None:
        return None
    if checks.obj(c, "assessment", value) is None:
        return None
    keys = {"type", "title", "grading_scheme", "min_score", "max_score", "pass_score"}
    checks.keys(c, "assessment", value, keys, {"type", "title"})
    kind = value.get("type")
    if "type" in value and (not isinstance(kind, str) or codelists.assessment_type_uri(kind) is None):
        c.add("assessment.type", "expected one of exam, " + ", ".join(codelists.assessment_type_slugs()))
    title = (
        checks.lang_map(c, "assessment.title", value.get("title"), max_len=500) if "title" in value else None
    )
    scheme = checks.lang_map(c, "assessment.grading_scheme", value.get("grading_scheme"), required=False)
    lo = checks.number(c, "assessment.min_score", value.get("min_score"), required=False)
    hi = checks.number(c, "assessment.max_score", value.get("max_score"), required=False)
    passing = checks.number(c, "assessment.pass_score", value.get("pass_score"), required=False)
    if lo is not None and hi is not None and lo >= hi:
        c.add("assessment.max_score", "expected max_score greater than min_score")
    elif passing is not None and ((lo is not None and passing < lo) or (hi is not None and passing > hi)):
        c.add("assessment.pass_score", "expected pass_score between min_score and max_score")
    if title is None or not isinstance(kind, str):
        return None
    return Assessment(
        type=kind, title=title, grading_scheme=scheme, min_score=lo, max_score=hi, pass_score=passing
    )


def _organisation(c: Collector, field: str, value: Any) -> Organisation | None:
    if checks.obj(c, field, value) is None:
        return None
    keys = {"legal_name", "legal_identifier", "vat_identifier", "country", "homepage", "email", "logo"}
    checks.keys(c, field, value, keys, {"legal_name", "legal_identifier", "country"})
    name = (
        checks.lang_map(c, f"{field}.legal_name", value.get("legal_name"), max_len=500)
        if "legal_name" in value
        else None
    )
    legal_id = (
        checks.identifier(c, f"{field}.legal_identifier", value.get("legal_identifier"))
        if "legal_identifier" in value
        else None
    )
    vat = value.get("vat_identifier")
    if vat is not None and (not isinstance(vat, str) or not re.fullmatch(r"^[A-Z]{2}[0-9A-Za-z+*.]{2,13}$", vat)):
        c.add(f"{field}.vat_identifier", "expected a VAT number with its country prefix, like FR12345678901")
    country = value.get("country")
    if "country" in value and (not isinstance(country, str) or not codelists.is_country(country)):
        c.add(f"{field}.country", "expected an ISO 3166-1 alpha-2 country code this bridge supports, like FR")
    homepage = checks.url(c, f"{field}.homepage", value.get("homepage"), required=False)
    mail = checks.email(c, f"{field}.email", value.get("email"), required=False)
    logo = value.get("logo")
    if logo is not None:
        if isinstance(logo, str) and logo.startswith("https://"):
            checks.url(c, f"{field}.logo", logo)
        elif isinstance(logo, str) and logo.startswith("data:"):
            checks.image_data_url(c, f"{field}.logo", logo)
        else:
            c.add(f"{field}.logo", "expected a data:image/png|jpeg;base64 URL or an https URL")
    if name is None or legal_id is None or not isinstance(country, str):
        return None
    return Organisation(
        legal_name=name,
        legal_identifier=legal_id,
        country=country,
        vat_identifier=vat if isinstance(vat, str) else None,
        homepage=homepage,
        email=mail,
        logo=logo if isinstance(logo, str) else None,
    )
