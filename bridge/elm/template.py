"""Course template: what a course awards, validated once when a teacher or LMS stores it.

The JSON shape is fixed in docs/architecture.md ("Course template"). ``from_dict`` collects every
problem into one ValidationFailed so an admin fixes a template in one round trip.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bridge.elm import checks, codelists, fields
from bridge.elm.errors import Collector, FieldError, ValidationFailed, from_pydantic

# Part of the sidecar's HTTP contract around a template, handled elsewhere; tolerated here.
_IGNORED_KEYS = {"policy", "esco"}


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


def _code(check: Any, message: str) -> Any:
    """An AfterValidator accepting a text when ``check(text)`` holds (code-list look-ups)."""

    def validate(value: str) -> str:
        if not check(value):
            raise PydanticCustomError("code", message)
        return value

    return AfterValidator(validate)


_Code = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=300, pattern=fields.LINE_PATTERN)]
Mode = Annotated[_Code, _code(lambda v: codelists.resolve(v, codelists.MODE_CODES, codelists.modes()),
                              f"expected one of {', '.join(codelists.MODE_CODES)} or a code-list URI")]
LearningSetting = Annotated[_Code, _code(
    lambda v: codelists.resolve(v, codelists.LEARNING_SETTING_CODES, codelists.learning_settings()),
    f"expected one of {', '.join(codelists.LEARNING_SETTING_CODES)} or a code-list URI")]
CredentialProfile = Annotated[_Code, _code(
    lambda v: codelists.resolve(v, codelists.CREDENTIAL_PROFILE_CODES, codelists.credential_types()),
    f"expected one of {', '.join(codelists.CREDENTIAL_PROFILE_CODES)} or a credential-type code-list URI")]
IscedF = Annotated[_Code, _code(lambda v: bool(codelists.isced_f().by_code(v) or v in codelists.isced_f().labels),
                                'expected an ISCED-F 2013 field code from the code list, like "0613"')]
AssessmentType = Annotated[_Code, _code(lambda v: codelists.assessment_type_uri(v) is not None,
                                        "expected exam or another assessment type of the code list")]
Country = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{2}$"),
                    _code(codelists.is_country, "expected an ISO 3166-1 alpha-2 country code this bridge supports, "
                                                "like FR")]
VatIdentifier = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Z]{2}[0-9A-Za-z+*.]{2,13}$")]
OutcomeText = Annotated[dict[fields.Language, fields.text(1000)], Field(min_length=1)]


def _url(value: str) -> str:
    c = Collector()
    checks.url(c, "", value)
    if c.errors:
        raise PydanticCustomError("url", "expected an absolute http(s) URL")
    return value


def _logo(value: str) -> str:
    c = Collector()
    if value.startswith("https://"):
        checks.url(c, "", value)
    elif value.startswith("data:"):
        checks.image_data_url(c, "", value)
    else:
        raise PydanticCustomError("logo", "expected a data:image/png|jpeg;base64 URL or an https URL")
    if c.errors:
        raise PydanticCustomError("logo", c.errors[0].message)
    return value


Url = Annotated[str, StringConstraints(strict=True, max_length=2000), AfterValidator(_url)]
Logo = Annotated[str, StringConstraints(strict=True, max_length=2_800_000), AfterValidator(_logo)]


class EscoSkillDocument(_Document):
    """A skill with its labels, for skills the ESCO service does not know (or to fix the labels)."""

    uri: fields.EscoSkillUri
    labels: fields.ShortLangMap | None = None


EscoSkillRef = Annotated[
    Annotated[fields.EscoSkillUri, Tag("~uri")] | Annotated[EscoSkillDocument, Tag("~object")],
    Discriminator(lambda v: "~object" if isinstance(v, dict | EscoSkillDocument) else "~uri"),
]


class OutcomeDocument(_Document):
    text: OutcomeText
    esco_skills: Annotated[list[EscoSkillRef], Field(min_length=1, max_length=50)]


class AssessmentDocument(_Document):
    type: AssessmentType
    title: fields.ShortLangMap
    grading_scheme: fields.LangMap | None = None
    min_score: fields.number(-fields.MAX_NUMBER) | None = None
    max_score: fields.number(-fields.MAX_NUMBER) | None = None
    pass_score: fields.number(-fields.MAX_NUMBER) | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AssessmentDocument:
        lo, hi, passing = self.min_score, self.max_score, self.pass_score
        if lo is not None and hi is not None and lo >= hi:
            raise fields.field_error("max_score", "expected max_score greater than min_score")
        if passing is not None and ((lo is not None and passing < lo) or (hi is not None and passing > hi)):
            raise fields.field_error("pass_score", "expected pass_score between min_score and max_score")
        return self


class OrganisationDocument(_Document):
    legal_name: fields.ShortLangMap
    legal_identifier: fields.Identifier
    vat_identifier: VatIdentifier | None = None
    country: Country
    homepage: Url | None = None
    email: fields.Email | None = None
    logo: Logo | None = None


DEFAULT_COLOUR, DEFAULT_ACCENT = "#003399", "#ffcc00"  # the EU's blue and gold
Colour = Annotated[str, StringConstraints(strict=True, pattern=r"^#[0-9a-fA-F]{6}$"), AfterValidator(str.lower)]


class SignatoryDocument(_Document):
    name: fields.Line
    title: fields.ShortLangMap | None = None


class PresentationDocument(_Document):
    """How the learner's documents look (PDF, page image, e-mail, page): colours and signatory line."""

    colour: Colour = DEFAULT_COLOUR
    accent_colour: Colour = DEFAULT_ACCENT
    signatory: SignatoryDocument | None = None


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("distinct", "expected each language once")
    return values


class TemplateDocument(_Document):
    """A course template (docs/architecture.md, "Course template")."""

    title: fields.ShortLangMap
    description: fields.LangMap | None = None
    # May be empty: a course whose teacher tagged no ESCO skill still issues a credential (the EDC
    # shapes make LearningAchievementSpecification.learningOutcome optional).
    learning_outcomes: Annotated[list[OutcomeDocument], Field(max_length=100)]
    ects: fields.number(0, 999) | None = None
    eqf_level: Annotated[int, Field(strict=True, ge=1, le=8)] | None = None
    isced_f: IscedF | None = None
    languages: Annotated[list[fields.Language], Field(min_length=1, max_length=len(codelists.LANGUAGES)),
                         AfterValidator(_distinct)]
    mode: Mode | None = None
    learning_setting: LearningSetting | None = None
    volume_of_learning: fields.Duration | None = None
    assessment: AssessmentDocument | None = None
    awarding_body: OrganisationDocument
    credential_profile: CredentialProfile = "generic"
    valid_for: fields.Duration | None = None
    presentation: PresentationDocument | None = None


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
class Presentation:
    """How the learner's documents look: colours, and who signs the certificate page.

    The logo is the awarding body's (``awarding_body.logo``). Defaults give the EU's blue and gold.
    """

    colour: str = DEFAULT_COLOUR
    accent_colour: str = DEFAULT_ACCENT
    signatory_name: str | None = None
    signatory_title: dict[str, str] | None = None

    @classmethod
    def from_document(cls, doc: PresentationDocument | None) -> Presentation:
        if doc is None:
            return cls()
        signatory = doc.signatory
        return cls(colour=doc.colour, accent_colour=doc.accent_colour,
                   signatory_name=signatory.name if signatory else None,
                   signatory_title=dict(signatory.title) if signatory and signatory.title else None)

    def to_dict(self) -> dict[str, Any]:
        signatory = None if not self.signatory_name else {
            "name": self.signatory_name, "title": dict(self.signatory_title) if self.signatory_title else None}
        return {"colour": self.colour, "accent_colour": self.accent_colour, "signatory": signatory}


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
    presentation: Presentation = Presentation()

    @classmethod
    def from_dict(cls, data: Any) -> CourseTemplate:
        """Validate a template document; raises ValidationFailed listing every bad field."""
        if not isinstance(data, dict):
            raise ValidationFailed([FieldError("(document)", "expected a JSON object")])
        try:
            doc = TemplateDocument.model_validate({k: v for k, v in data.items() if k not in _IGNORED_KEYS})
        except ValidationError as exc:
            raise ValidationFailed(from_pydantic(exc)) from None
        return cls.from_document(doc)

    @classmethod
    def from_document(cls, doc: TemplateDocument) -> CourseTemplate:
        """The template of a validated document."""
        assessment = doc.assessment
        body = doc.awarding_body
        return cls(
            title=dict(doc.title),
            description=dict(doc.description) if doc.description else None,
            learning_outcomes=tuple(
                LearningOutcome(text=dict(o.text), esco_skills=tuple(
                    EscoSkill(uri=s) if isinstance(s, str)
                    else EscoSkill(uri=s.uri, labels=dict(s.labels) if s.labels else None)
                    for s in o.esco_skills))
                for o in doc.learning_outcomes),
            ects=doc.ects,
            eqf_level=doc.eqf_level,
            isced_f=doc.isced_f.rsplit("/", 1)[-1] if doc.isced_f else None,
            languages=tuple(doc.languages),
            mode=doc.mode,
            learning_setting=doc.learning_setting,
            volume_of_learning=doc.volume_of_learning,
            assessment=None if assessment is None else Assessment(
                type=assessment.type, title=dict(assessment.title),
                grading_scheme=dict(assessment.grading_scheme) if assessment.grading_scheme else None,
                min_score=assessment.min_score, max_score=assessment.max_score, pass_score=assessment.pass_score),
            awarding_body=Organisation(
                legal_name=dict(body.legal_name), legal_identifier=body.legal_identifier, country=body.country,
                vat_identifier=body.vat_identifier, homepage=body.homepage, email=body.email, logo=body.logo),
            credential_profile=doc.credential_profile,
            valid_for=doc.valid_for,
            presentation=Presentation.from_document(doc.presentation),
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
            "presentation": self.presentation.to_dict(),
        }

    @property
    def esco_skill_uris(self) -> list[str]:
        """Distinct ESCO skill URIs in outcome order (for lookups and the 'unknown' report)."""
        seen: dict[str, None] = {}
        for outcome in self.learning_outcomes:
            for skill in outcome.esco_skills:
                seen.setdefault(skill.uri, None)
        return list(seen)


def content_digest(template: dict[str, Any], policy: dict[str, Any] | None = None) -> str:
    """SHA-256 of a stored template (and its policy) in canonical JSON: what names its content.

    Sorted keys and no spaces, so two documents equal as JSON have one digest whatever their key
    order; the compiled-template cache and the API's ETag are keyed by it, never by the version
    number alone (a number says when, not what).
    """
    document = template if policy is None else {"template": template, "policy": policy}
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
