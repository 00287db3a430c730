"""The recognition pages: the desk (upload a credential, see its report and what the register says,
decide), the MCRA register (partners, agreements, their PDF, the signed upload) and the anonymous
statistics. Admins and recognition officers act; registrars and viewers read.

Forms fill the same pydantic models as the JSON API (bridge.recognition.schemas), so both refuse the
same input with the same field names; actions go through the same functions and audit entries.
"""
from __future__ import annotations

from typing import Any

from flask import Response, redirect, request
from pydantic import ValidationError
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from bridge import audit
from bridge.api.common import runtime
from bridge.console.nav import N_, Section, register_section
from bridge.console.recognition_api import open_case, read_upload, record_decision, signed_upload
from bridge.console.roles import RECOGNITION_DECIDE, RECOGNITION_READ
from bridge.console.web import console_blueprint, db, identity, language, render, requires
from bridge.db.models import (
    AGREEMENT_DIRECTIONS,
    COUNTS_AS,
    LEARNING_KINDS,
    Agreement,
    CourseTemplate,
    Partner,
    RecognitionCase,
)
from bridge.elm.errors import from_pydantic
from bridge.problems import Problem
from bridge.recognition import agreements as register
from bridge.recognition import desk, signatures
from bridge.recognition.schemas import AgreementInput, Decision, PartnerInput
from bridge.web.receiving import max_bytes

bp = console_blueprint("console_recognition", __name__)
register_section(Section("recognition", N_("Recognition"), "console_recognition.desk_page", RECOGNITION_READ, 60))
register_section(Section("agreements", N_("Agreements"), "console_recognition.agreements_page", RECOGNITION_READ,
                         61))
BLANK_LINES = 3
PEOPLE_ROWS = 4


@bp.errorhandler(NotFound)
def _missing(_: Any) -> Response:
    return render("not_found.html", 404)


@bp.errorhandler(Problem)
def _problem(exc: Problem) -> Response:
    """A refused action (bad file, wrong status...) shown on a page, in words, with its status."""
    return render("recognition_problem.html", exc.status, problem=exc)


def _errors(exc: ValidationError) -> dict[str, str]:
    return {e.field: e.message for e in from_pydantic(exc)}


# --- the desk ------------------------------------------------------------------------------------------------
@bp.get("/recognition")
@requires(RECOGNITION_READ)
def desk_page() -> Response:
    cases = db().scalars(select(RecognitionCase).order_by(RecognitionCase.created_at.desc()).limit(100))
    return render("recognition_desk.html", cases=[desk.case_summary(c) for c in cases],
                  can_decide=identity().can(RECOGNITION_DECIDE))


@bp.post("/recognition")
@requires(RECOGNITION_DECIDE)
def upload_credential() -> Response:
    case = open_case(read_upload(max_bytes(runtime().settings)), "upload", language())
    return redirect(f"/console/recognition/cases/{case.id}")  # type: ignore[return-value]


def _case(case_id: str) -> RecognitionCase:
    found = db().get(RecognitionCase, case_id) if len(case_id) <= 36 else None
    if found is None:
        raise NotFound()
    return found


@bp.get("/recognition/cases/<case_id>")
@requires(RECOGNITION_READ)
def case_page(case_id: str, status: int = 200, **context: Any) -> Response:
    found = _case(case_id)
    return render("recognition_case.html", status, case=found, report=found.report, match=found.match,
                  credential=(found.report or {}).get("credential") or {},
                  can_decide=identity().can(RECOGNITION_DECIDE), **context)


@bp.post("/recognition/cases/<case_id>/decision")
@requires(RECOGNITION_DECIDE)
def decide(case_id: str) -> Response:
    found = _case(case_id)
    form = request.form
    raw = {"decision": form.get("decision") or "", "reasons": (form.get("reasons") or "").strip() or None,
           "course": (form.get("course") or "").strip() or None}
    ects = (form.get("ects") or "").strip()
    if ects:
        try:
            raw["ects"] = float(ects.replace(",", "."))
        except ValueError:
            return case_page(case_id, 422, errors={"ects": "expected a number"}, form=form)
    try:
        decision = Decision.model_validate(raw)
    except ValidationError as exc:
        return case_page(case_id, 422, errors=_errors(exc), form=form)
    record_decision(found, decision)
    return redirect(f"/console/recognition/cases/{found.id}")  # type: ignore[return-value]


@bp.get("/recognition/statistics")
@requires(RECOGNITION_READ)
def statistics_page() -> Response:
    return render("recognition_statistics.html", rows=desk.statistics_by_issuer_and_course(db()))


# --- partners ----------------------------------------------------------------------------------------------
_PARTNER_FIELDS = ("name", "country", "erasmus_code", "schac_code", "eidas_identifier", "pic", "website")


@bp.get("/agreements")
@requires(RECOGNITION_READ)
def agreements_page(status: int = 200, **context: Any) -> Response:
    rows = list(db().scalars(select(Agreement).order_by(Agreement.id.desc())))
    partners = list(db().scalars(select(Partner).order_by(Partner.name)))
    return render("agreements.html", status, agreements=rows, partners=partners,
                  effective={a.id: register.effective_status(a) for a in rows},
                  can_edit=identity().can(RECOGNITION_DECIDE), **context)


@bp.post("/partners")
@requires(RECOGNITION_DECIDE)
def save_partner() -> Response:
    raw = {name: (request.form.get(name) or "").strip() or None for name in _PARTNER_FIELDS}
    partner_id = (request.form.get("partner_id") or "").strip()
    found = db().get(Partner, int(partner_id)) if partner_id.isdigit() else None
    try:
        data = PartnerInput.model_validate(raw)
        saved = register.save_partner(db(), data, found)
    except ValidationError as exc:
        return agreements_page(422, partner_errors=_errors(exc), partner_form=request.form)
    except register.RegisterError as exc:
        db().rollback()
        return agreements_page(exc.status, partner_errors={exc.field or "name": exc.message},
                               partner_form=request.form)
    db().commit()
    audit.record(runtime().sessions, "partner.update" if found else "partner.create", target_type="partner",
                 target_id=str(saved.id), detail={"name": saved.name})
    return redirect("/console/agreements#partners")  # type: ignore[return-value]


# --- agreements ----------------------------------------------------------------------------------------------
def _agreement(agreement_id: int) -> Agreement:
    found = db().get(Agreement, agreement_id)
    if found is None:
        raise NotFound()
    return found


def _courses() -> list[CourseTemplate]:
    return list(db().scalars(select(CourseTemplate).order_by(CourseTemplate.source, CourseTemplate.course_id)))


def _form_values(agreement: Agreement | None) -> dict[str, Any]:
    """The form's initial values: the agreement's content, or blanks."""
    if agreement is None:
        return {"courses": [], "contacts": [], "signatories": []}
    return register.content(agreement) | {"partner_id": agreement.partner_id,
                                          "min_grade": agreement.min_grade,
                                          "assessment_type": agreement.assessment_type,
                                          "conditions": agreement.conditions}


def _editor(agreement: Agreement | None, status: int = 200, **context: Any) -> Response:
    values = context.pop("values", None) or _form_values(agreement)
    return render("agreement_edit.html", status, agreement=agreement, values=values,
                  partners=list(db().scalars(select(Partner).order_by(Partner.name))), courses=_courses(),
                  directions=AGREEMENT_DIRECTIONS, kinds=LEARNING_KINDS, counts=COUNTS_AS,
                  blank_lines=BLANK_LINES, people_rows=PEOPLE_ROWS, **context)


@bp.get("/agreements/new")
@requires(RECOGNITION_DECIDE)
def new_agreement() -> Response:
    return _editor(None)


def _number(value: str) -> Any:
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return value  # refused by the model, naming the field
    return int(number) if number.is_integer() else number


def _parsed_form() -> dict[str, Any]:
    """The agreement form as the API's JSON document (empty lines and rows left out)."""
    form = request.form

    def text(name: str) -> str | None:
        return (form.get(name) or "").strip() or None

    lines = []
    for i in range(int(form.get("line_count") or 0) if (form.get("line_count") or "").isdigit() else 0):
        if not (text(f"line{i}_their_title") or text(f"line{i}_their_lo_iri") or text(f"line{i}_our_course")):
            continue
        ours = text(f"line{i}_our_course") or ""
        source, _, course_id = ours.partition("/")
        template = db().scalar(select(CourseTemplate).where(CourseTemplate.source == source,
                                                            CourseTemplate.course_id == course_id)) if ours else None
        title = template.template.get("title") if template is not None else None
        line = {"direction": text(f"line{i}_direction"), "counts_as": text(f"line{i}_counts_as"),
                "their_title": text(f"line{i}_their_title"), "their_lo_iri": text(f"line{i}_their_lo_iri"),
                "their_ects": _number(form.get(f"line{i}_their_ects") or ""),
                "their_eqf": _number(form.get(f"line{i}_their_eqf") or ""),
                "ects": _number(form.get(f"line{i}_ects") or ""), "elective_slot": text(f"line{i}_elective_slot"),
                "min_grade": text(f"line{i}_min_grade"), "assessment_type": text(f"line{i}_assessment_type")}
        if ours:
            line.update(our_source=source or None, our_course_id=course_id or None,
                        our_title=(title.get("en") or next(iter(title.values()))) if isinstance(title, dict)
                        and title else None)
        lines.append({k: v for k, v in line.items() if v is not None})
    people: dict[str, list[dict[str, Any]]] = {"contacts": [], "signatories": []}
    for kind in people:
        for i in range(PEOPLE_ROWS):
            if not text(f"{kind}{i}_name"):
                continue
            row = {"side": text(f"{kind}{i}_side"), "name": text(f"{kind}{i}_name"),
                   "position": text(f"{kind}{i}_position"), "email": text(f"{kind}{i}_email"),
                   "phone": text(f"{kind}{i}_phone")}
            people[kind].append({k: v for k, v in row.items() if v is not None})
    partner = form.get("partner_id") or ""
    document = {"partner_id": int(partner) if partner.isdigit() else partner, "title": text("title"),
                "reference": text("reference"), "direction": text("direction"),
                "learning_kind": text("learning_kind"), "our_unit": text("our_unit"),
                "their_unit": text("their_unit"), "valid_from": text("valid_from"),
                "valid_until": text("valid_until"), "min_grade": text("min_grade"),
                "assessment_type": text("assessment_type"), "conditions": text("conditions"), "courses": lines,
                **people}
    return {k: v for k, v in document.items() if v is not None}


def _save(agreement: Agreement | None) -> Response:
    document = _parsed_form()
    values = {"courses": [], "contacts": [], "signatories": [], **document}
    try:
        data = AgreementInput.model_validate(document)
        saved = register.save_agreement(db(), data, agreement)
    except ValidationError as exc:
        return _editor(agreement, 422, values=values, errors=_errors(exc))
    except register.RegisterError as exc:
        db().rollback()
        return _editor(agreement, exc.status, values=values, errors={exc.field or "": exc.message})
    db().commit()
    audit.record(runtime().sessions, "agreement.update" if agreement else "agreement.create",
                 target_type="agreement", target_id=str(saved.id),
                 detail={"title": saved.title, "version": saved.version})
    return redirect(f"/console/agreements/{saved.id}")  # type: ignore[return-value]


@bp.post("/agreements/new")
@requires(RECOGNITION_DECIDE)
def create_agreement() -> Response:
    return _save(None)


@bp.get("/agreements/<int:agreement_id>")
@requires(RECOGNITION_READ)
def agreement_page(agreement_id: int, status: int = 200, **context: Any) -> Response:
    found = _agreement(agreement_id)
    return render("agreement.html", status, a=found, effective=register.effective_status(found),
                  digest=register.digest(found), next_states=sorted(register.TRANSITIONS[found.status] - {"signed"}),
                  can_edit=identity().can(RECOGNITION_DECIDE), **context)


@bp.get("/agreements/<int:agreement_id>/edit")
@requires(RECOGNITION_DECIDE)
def edit_agreement(agreement_id: int) -> Response:
    return _editor(_agreement(agreement_id))


@bp.post("/agreements/<int:agreement_id>/edit")
@requires(RECOGNITION_DECIDE)
def update_agreement(agreement_id: int) -> Response:
    found = _agreement(agreement_id)
    if found.status != "draft":
        return agreement_page(agreement_id, 409, problem=f"agreement {found.id} is {found.status}: only a draft "
                                                         "can be changed")
    return _save(found)


@bp.post("/agreements/<int:agreement_id>/status")
@requires(RECOGNITION_DECIDE)
def change_status(agreement_id: int) -> Response:
    found = _agreement(agreement_id)
    before, wanted = found.status, request.form.get("status") or ""
    try:
        register.change_status(found, wanted)
    except (register.RegisterError, KeyError) as exc:
        db().rollback()
        audit.record(runtime().sessions, "agreement.status", target_type="agreement", target_id=str(found.id),
                     outcome="refused", detail={"from": before, "to": wanted[:20]})
        message = exc.message if isinstance(exc, register.RegisterError) else "unknown status"
        return agreement_page(agreement_id, 409, problem=message)
    db().commit()
    audit.record(runtime().sessions, "agreement.status", target_type="agreement", target_id=str(found.id),
                 detail={"from": before, "to": wanted})
    return redirect(f"/console/agreements/{found.id}")  # type: ignore[return-value]


@bp.post("/agreements/<int:agreement_id>/signed")
@requires(RECOGNITION_DECIDE)
def upload_signed(agreement_id: int) -> Response:
    found = _agreement(agreement_id)
    checked = signed_upload(found, read_upload(signatures.MAX_PDF_BYTES))
    if not checked.accepted:
        return agreement_page(agreement_id, 422, upload_errors=checked.errors,
                              upload_signatures=checked.signatures_json())
    return redirect(f"/console/agreements/{found.id}")  # type: ignore[return-value]
