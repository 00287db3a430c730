"""Inputs of the MCRA register and the recognition desk, declared for the sidecar's input layer
(bridge.api.inputs): validated there and described in the OpenAPI document.

The console's forms fill the same models (bridge.console.views.recognition), so a page and the API
refuse the same things with the same field names.
"""
from __future__ import annotations

from typing import Annotated, Literal, NotRequired, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from bridge.db.models import AGREEMENT_DIRECTIONS, AGREEMENT_STATUSES, COUNTS_AS, DECISIONS, LEARNING_KINDS
from bridge.elm import fields
from bridge.elm.issuer import EIDAS_ID_RE

_FORBID = ConfigDict(extra="forbid", hide_input_in_errors=True)

Name = fields.text(300, pattern=fields.LINE_PATTERN)
Short = fields.text(100, pattern=fields.LINE_PATTERN)
Iri = Annotated[str, Field(min_length=8, max_length=500, pattern=r"^(https?|urn):[^\s<>\"{}|\\^`]+$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 code, e.g. FR")]
ErasmusCode = Annotated[str, Field(max_length=40, pattern=r"^[A-Z]{1,3}\s*[A-Z-]{1,10}[0-9]{2,3}$",
                                   description="Erasmus institution code, e.g. F  PARIS001 or D  BERLIN01")]
SchacCode = Annotated[str, Field(max_length=255, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*"
                                                         r"[a-z0-9])?)+$", description="SCHAC home organisation "
                                                                                        "(a domain), e.g. uni-a.eu")]
EidasIdentifier = Annotated[str, Field(max_length=100, pattern=EIDAS_ID_RE.pattern,
                                       description="Organisation identifier as in its eSeal certificate "
                                                   "(ETSI EN 319 412-1), e.g. VATBE-0123456789")]
Pic = Annotated[str, Field(pattern=r"^[0-9]{9}$", description="Participant Identification Code (9 digits)")]
Grade = fields.text(40, pattern=fields.LINE_PATTERN)
Ects = fields.number(0, 240, exclusive_minimum=True)
Eqf = Annotated[int, Field(strict=True, ge=1, le=8)]


class PartnerInput(BaseModel):
    """A partner institution and its identifiers (the eIDAS one is what credentials are matched on)."""

    model_config = _FORBID
    name: Name
    country: Country
    erasmus_code: ErasmusCode | None = None
    schac_code: SchacCode | None = None
    eidas_identifier: EidasIdentifier | None = None
    pic: Pic | None = None
    website: Iri | None = None


class Person(BaseModel):
    """A contact (who fills the agreement in and answers questions) or a signatory, of one side."""

    model_config = _FORBID
    side: Literal["ours", "theirs"]
    name: Name
    position: Name | None = None
    email: fields.Email | None = None
    phone: Annotated[str, Field(max_length=40, pattern=r"^\+?[0-9 ()./-]{4,40}$")] | None = None


class CourseLine(BaseModel):
    """One course of one side and what it counts as on the other (see AgreementCourse)."""

    model_config = _FORBID
    direction: Literal["incoming", "outgoing"] = Field(
        description="incoming: the partner's course counts here; outgoing: ours counts at the partner")
    our_source: fields.SourceName | None = None
    our_course_id: fields.identifier(255) | None = None
    our_title: Name | None = None
    their_lo_iri: Iri | None = Field(None, description="The partner course's LearningOpportunity IRI")
    their_title: Name | None = None
    their_ects: Ects | None = None
    their_eqf: Eqf | None = None
    counts_as: Literal[COUNTS_AS] = Field(description="credits, an equivalent course, or an elective slot")  # type: ignore[valid-type]
    ects: Ects | None = Field(None, description="ECTS credits it counts for")
    elective_slot: Name | None = None
    min_grade: Grade | None = None
    assessment_type: Name | None = None

    @model_validator(mode="after")
    def _sides(self) -> Self:
        ours = bool(self.our_source and self.our_course_id)
        if bool(self.our_source) != bool(self.our_course_id):
            raise fields.field_error("our_course_id", "our_source and our_course_id go together")
        if not (self.their_lo_iri or self.their_title):
            raise fields.field_error("their_title", "the partner's course needs their_lo_iri or their_title")
        if self.direction == "outgoing" and not ours:
            raise fields.field_error("our_course_id", "an outgoing line names our course")
        if self.direction == "incoming" and self.counts_as == "equivalent" and not ours:
            raise fields.field_error("our_course_id", "an incoming equivalence names our course")
        if self.counts_as == "credits" and self.ects is None:
            raise fields.field_error("ects", "counts_as credits needs ects")
        if self.counts_as == "elective" and not self.elective_slot:
            raise fields.field_error("elective_slot", "counts_as elective needs elective_slot")
        return self


class AgreementInput(BaseModel):
    """Every section of the MCRA template: parties, direction, kind of learning, courses and what they
    count as, conditions, validity, contacts and signatories."""

    model_config = _FORBID
    partner_id: Annotated[int, Field(strict=True, ge=1)]
    title: Name
    reference: Short | None = None
    direction: Literal[AGREEMENT_DIRECTIONS]  # type: ignore[valid-type]
    learning_kind: Literal[LEARNING_KINDS] = Field(  # type: ignore[valid-type]
        description="formal or non-formal learning, agreed at faculty or institution level")
    our_unit: Name | None = Field(None, description="Our faculty or department (faculty level)")
    their_unit: Name | None = None
    valid_from: fields.Day
    valid_until: fields.Day
    min_grade: Grade | None = Field(None, description="Minimum grade, for every line without its own")
    assessment_type: Name | None = None
    conditions: fields.text(4000) | None = None
    courses: Annotated[list[CourseLine], Field(min_length=1, max_length=200)]
    contacts: Annotated[list[Person], Field(max_length=20)] = []
    signatories: Annotated[list[Person], Field(min_length=1, max_length=10)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.valid_until < self.valid_from:
            raise fields.field_error("valid_until", "valid_until is before valid_from")
        if self.learning_kind.endswith("_faculty") and not self.our_unit:
            raise fields.field_error("our_unit", "an agreement at faculty level names our_unit")
        allowed = {"incoming", "outgoing"} if self.direction == "two_way" else {self.direction}
        wrong = [i for i, c in enumerate(self.courses) if c.direction not in allowed]
        if wrong:
            raise fields.field_error(f"courses[{wrong[0]}].direction", f"the agreement is {self.direction}")
        if {s.side for s in self.signatories} != {"ours", "theirs"}:
            raise fields.field_error("signatories", "signatories of both sides are needed")
        return self


class StatusChange(BaseModel):
    model_config = _FORBID
    status: Literal[AGREEMENT_STATUSES]  # type: ignore[valid-type]


class Decision(BaseModel):
    """The recognition officer's decision on a case; reasons are required unless fully recognised. Without
    ``ects`` or ``course``, a case an agreement covers is recognised as the agreement says."""

    model_config = _FORBID
    decision: Literal[DECISIONS]  # type: ignore[valid-type]
    reasons: fields.text(2000) | None = None
    ects: Ects | None = None
    course: Name | None = Field(None, description="What it is recognised as (course, module or slot)")

    @model_validator(mode="after")
    def _reasons(self) -> Self:
        if self.decision != "recognised" and not self.reasons:
            raise fields.field_error("reasons", "reasons are required for a partial recognition or a refusal")
        return self


class IdPath(TypedDict):
    agreement_id: Annotated[int, Field(ge=1, le=2_000_000_000)]


class PartnerPath(TypedDict):
    partner_id: Annotated[int, Field(ge=1, le=2_000_000_000)]


class CasePath(TypedDict):
    case_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")]


class LangQuery(TypedDict):
    lang: NotRequired[Literal["en", "fr"]]


class CaseQuery(TypedDict):
    lang: NotRequired[Literal["en", "fr"]]
    recognise: NotRequired[Annotated[Literal["true", "false"], Field(
        description="true: recognise at once, as the agreement says, when one covers the credential")]]
