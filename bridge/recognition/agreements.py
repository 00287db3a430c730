"""The MCRA register: partner institutions and credit recognition agreements, their life cycle and the
recognition options they give our courses.

An agreement moves ``draft → agreed → signed → expired`` (and back from ``agreed`` to ``draft`` to
amend it); nothing else. Its content changes only as a draft. ``signed`` is reached by uploading the
signed PDF (bridge.recognition.signatures), and a signed agreement counts only between its validity
dates: past ``valid_until`` it is treated as expired even before anyone marks it so.

:func:`options_for_template` is what the catalogue reads (its signature is kept stable).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.db.models import Agreement, AgreementCourse, Partner, utcnow
from bridge.recognition.schemas import AgreementInput, PartnerInput

TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"agreed"}),
    "agreed": frozenset({"draft", "signed"}),
    "signed": frozenset({"expired"}),
    "expired": frozenset(),
}
_LINE_FIELDS = ("direction", "our_source", "our_course_id", "our_title", "their_lo_iri", "their_title",
                "their_ects", "their_eqf", "counts_as", "ects", "elective_slot", "min_grade", "assessment_type")
_PARTNER_FIELDS = ("name", "country", "erasmus_code", "schac_code", "eidas_identifier", "pic", "website")


class RegisterError(Exception):
    """An action the register refuses: ``status`` is the HTTP status it answers with (404, 409, 422)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


# --- partners ----------------------------------------------------------------------------------------
def save_partner(session: Session, data: PartnerInput, partner: Partner | None = None) -> Partner:
    """Create or update a partner; two partners never share an eIDAS identifier (matching needs one)."""
    if data.eidas_identifier:
        clash = session.scalar(select(Partner).where(Partner.eidas_identifier == data.eidas_identifier))
        if clash is not None and clash is not partner:
            raise RegisterError(409, f"partner {clash.id} ({clash.name}) already has this eIDAS identifier",
                                "eidas_identifier")
    if partner is None:
        partner = Partner(created_at=now())
        session.add(partner)
    for name in _PARTNER_FIELDS:
        setattr(partner, name, getattr(data, name))
    partner.updated_at = now()
    session.flush()
    return partner


def partner_json(partner: Partner) -> dict[str, Any]:
    return {"id": partner.id, **{name: getattr(partner, name) for name in _PARTNER_FIELDS}}


# --- agreements ----------------------------------------------------------------------------------------
def save_agreement(session: Session, data: AgreementInput, agreement: Agreement | None = None) -> Agreement:
    """Create an agreement as a draft, or replace a draft's content (anything else is frozen: 409)."""
    if session.get(Partner, data.partner_id) is None:
        raise RegisterError(422, "no partner with this id", "partner_id")
    if agreement is None:
        agreement = Agreement(status="draft", version=0, created_at=now(), status_changed_at=now())
        session.add(agreement)
    elif agreement.status != "draft":
        raise RegisterError(409, f"agreement {agreement.id} is {agreement.status}: only a draft can be changed "
                                 "(move an agreed one back to draft first)")
    agreement.partner_id = data.partner_id
    for name in ("title", "reference", "direction", "learning_kind", "our_unit", "their_unit", "min_grade",
                 "assessment_type", "conditions"):
        setattr(agreement, name, getattr(data, name))
    agreement.valid_from = dt.date.fromisoformat(data.valid_from)
    agreement.valid_until = dt.date.fromisoformat(data.valid_until)
    agreement.contacts = [p.model_dump(exclude_none=True) for p in data.contacts]
    agreement.signatories = [p.model_dump(exclude_none=True) for p in data.signatories]
    agreement.courses = [AgreementCourse(position=i, **{f: getattr(line, f) for f in _LINE_FIELDS})
                         for i, line in enumerate(data.courses)]
    agreement.version += 1
    agreement.updated_at = now()
    session.flush()
    session.refresh(agreement)
    return agreement


def change_status(agreement: Agreement, to: str) -> None:
    """Move along the life cycle; ``signed`` only through a signed PDF (:func:`mark_signed`)."""
    if to not in TRANSITIONS[agreement.status]:
        raise RegisterError(409, f"agreement {agreement.id} cannot go from {agreement.status} to {to}", "status")
    if to == "signed":
        raise RegisterError(409, "an agreement becomes signed when its signed PDF is uploaded", "status")
    agreement.status = to
    agreement.status_changed_at = now()
    if to == "draft":
        agreement.signatures = None
        agreement.signed_pdf = None


def mark_signed(agreement: Agreement, pdf: bytes, signatures: list[dict[str, Any]]) -> None:
    if agreement.status != "agreed":
        raise RegisterError(409, f"agreement {agreement.id} is {agreement.status}: only an agreed one is signed")
    agreement.status = "signed"
    agreement.signed_pdf = pdf
    agreement.signatures = signatures
    agreement.signed_at = agreement.status_changed_at = now()


def now() -> dt.datetime:
    """The app's clock inside a request or app context (tests pin it), else the wall clock."""
    from flask import has_app_context

    if has_app_context():
        from bridge.api.common import runtime

        return runtime().clock()
    return utcnow()


def effective_status(agreement: Agreement, on: dt.date | None = None) -> str:
    """The status that counts today: a signed agreement past its last valid day is expired."""
    today = on or now().date()
    if agreement.status == "signed" and today > agreement.valid_until:
        return "expired"
    return agreement.status


def in_force(agreement: Agreement, on: dt.date) -> bool:
    return agreement.status == "signed" and agreement.valid_from <= on <= agreement.valid_until


def content(agreement: Agreement) -> dict[str, Any]:
    """What the parties sign: every section of the template, without the register's bookkeeping."""
    partner = agreement.partner
    return {
        "id": agreement.id,
        "version": agreement.version,
        "title": agreement.title,
        "reference": agreement.reference,
        "partner": partner_json(partner),
        "direction": agreement.direction,
        "learning_kind": agreement.learning_kind,
        "our_unit": agreement.our_unit,
        "their_unit": agreement.their_unit,
        "courses": [{f: getattr(c, f) for f in _LINE_FIELDS} for c in agreement.courses],
        "conditions": {"min_grade": agreement.min_grade, "assessment_type": agreement.assessment_type,
                       "other": agreement.conditions},
        "valid_from": agreement.valid_from.isoformat(),
        "valid_until": agreement.valid_until.isoformat(),
        "contacts": agreement.contacts,
        "signatories": agreement.signatories,
    }


def digest(agreement: Agreement) -> str:
    """SHA-256 of the signed content: printed in the PDF, checked when the signed PDF comes back."""
    canonical = json.dumps(content(agreement), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def agreement_json(agreement: Agreement, on: dt.date | None = None) -> dict[str, Any]:
    """The agreement's data as JSON: its content, status and (once uploaded) verified signatures."""
    return {**content(agreement), "status": agreement.status,
            "effective_status": effective_status(agreement, on), "digest": digest(agreement),
            "created_at": agreement.created_at.isoformat(), "updated_at": agreement.updated_at.isoformat(),
            "signed_at": agreement.signed_at.isoformat() if agreement.signed_at else None,
            "signatures": agreement.signatures or []}


# --- what the catalogue reads ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecognitionOption:
    """One recognition option of one of our courses, from a signed agreement in force.

    ``direction`` "outgoing": taking our course, a learner gets it recognised at the partner as
    ``counts_as``; "incoming": the partner's course (``their_title``/``their_lo_iri``) counts here as
    our course.
    """

    agreement_id: int
    partner: str
    partner_country: str
    direction: str
    counts_as: str
    ects: float | None
    equivalent: str | None
    elective_slot: str | None
    their_title: str | None
    their_lo_iri: str | None
    min_grade: str | None
    valid_until: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def options_for_template(course_id: str, *, source: str | None = None, session: Session | None = None,
                         on: dt.date | None = None) -> list[RecognitionOption]:
    """Recognition options of our course ``course_id`` (of ``source`` when given) from agreements signed
    and in force ``on`` (today by default), ordered by partner. Without ``session``, the app's database."""
    if session is None:
        from bridge.api.common import runtime

        with runtime().sessions() as own:
            return options_for_template(course_id, source=source, session=own, on=on)
    today = on or now().date()
    query = (select(AgreementCourse, Agreement, Partner)
             .join(Agreement, AgreementCourse.agreement_id == Agreement.id)
             .join(Partner, Agreement.partner_id == Partner.id)
             .where(AgreementCourse.our_course_id == course_id, Agreement.status == "signed",
                    Agreement.valid_from <= today, Agreement.valid_until >= today)
             .order_by(Partner.name, Agreement.id, AgreementCourse.position))
    if source is not None:
        query = query.where(AgreementCourse.our_source == source)
    options = []
    for line, agreement, partner in session.execute(query):
        options.append(RecognitionOption(
            agreement_id=agreement.id, partner=partner.name, partner_country=partner.country,
            direction=line.direction, counts_as=line.counts_as, ects=line.ects,
            equivalent=(line.their_title if line.direction == "outgoing" else line.our_title)
            if line.counts_as == "equivalent" else None,
            elective_slot=line.elective_slot, their_title=line.their_title, their_lo_iri=line.their_lo_iri,
            min_grade=line.min_grade or agreement.min_grade, valid_until=agreement.valid_until.isoformat()))
    return options
