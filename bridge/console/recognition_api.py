"""The MCRA register's JSON API under ``/console/api``: partner institutions and credit recognition
agreements. Same sign-in, roles and audit entries as the console's pages: admins and recognition
officers change them, registrars and viewers read them."""
from __future__ import annotations

from typing import Any, NoReturn

from flask import Response, jsonify, request
from sqlalchemy import select

from bridge import audit
from bridge.api.common import runtime
from bridge.api.inputs import Answer, operation
from bridge.console.roles import RECOGNITION_DECIDE, RECOGNITION_READ
from bridge.console.web import console_api_blueprint, db, identity, requires
from bridge.db.models import Agreement, Partner, RecognitionCase
from bridge.problems import FieldProblem, Problem
from bridge.recognition import agreements as register
from bridge.recognition import desk, documents, signatures
from bridge.recognition.schemas import (
    AgreementInput,
    CasePath,
    CaseQuery,
    Decision,
    IdPath,
    LangQuery,
    PartnerInput,
    PartnerPath,
    StatusChange,
)
from bridge.web.receiving import max_bytes, recognise_upload

bp = console_api_blueprint("console_recognition_api", __name__)
TAGS = ("recognition",)


def refuse(exc: register.RegisterError) -> NoReturn:
    db().rollback()
    titles = {404: "Not Found", 409: "Conflict", 422: "Validation failed"}
    raise Problem(exc.status, titles.get(exc.status, "Bad Request"), exc.message,
                  kind={409: "conflict", 404: "not-found"}.get(exc.status, "validation-failed"),
                  errors=[FieldProblem(exc.field, exc.message)] if exc.field else ()) from None


def partner_or_404(partner_id: int) -> Partner:
    found = db().get(Partner, partner_id)
    if found is None:
        raise Problem(404, "Not Found", "No partner with this id.", kind="partner-not-found")
    return found


def agreement_or_404(agreement_id: int) -> Agreement:
    found = db().get(Agreement, agreement_id)
    if found is None:
        raise Problem(404, "Not Found", "No agreement with this id.", kind="agreement-not-found")
    return found


@operation(bp, "GET", "/partners", auth="console", tags=TAGS)
@requires(RECOGNITION_READ)
def partners() -> Response:
    """Partner institutions, by name."""
    return jsonify({"items": [register.partner_json(p) for p in db().scalars(select(Partner).order_by(Partner.name))]})


@operation(bp, "POST", "/partners", auth="console", body=PartnerInput, responses=(Answer(201, "Created"),),
           tags=TAGS)
@requires(RECOGNITION_DECIDE)
def create_partner(body: PartnerInput) -> tuple[Response, int]:
    """Add a partner institution (name, country, Erasmus, SCHAC, eIDAS and PIC identifiers)."""
    try:
        partner = register.save_partner(db(), body)
    except register.RegisterError as exc:
        refuse(exc)
    db().commit()
    audit.record(runtime().sessions, "partner.create", target_type="partner", target_id=str(partner.id),
                 detail={"name": partner.name})
    return jsonify(register.partner_json(partner)), 201


@operation(bp, "GET", "/partners/<int:partner_id>", auth="console", path=PartnerPath, tags=TAGS)
@requires(RECOGNITION_READ)
def partner(path: dict[str, Any]) -> Response:
    """One partner institution."""
    return jsonify(register.partner_json(partner_or_404(path["partner_id"])))


@operation(bp, "PUT", "/partners/<int:partner_id>", auth="console", path=PartnerPath, body=PartnerInput, tags=TAGS)
@requires(RECOGNITION_DECIDE)
def update_partner(path: dict[str, Any], body: PartnerInput) -> Response:
    """Change a partner institution's name or identifiers."""
    found = partner_or_404(path["partner_id"])
    try:
        register.save_partner(db(), body, found)
    except register.RegisterError as exc:
        refuse(exc)
    db().commit()
    audit.record(runtime().sessions, "partner.update", target_type="partner", target_id=str(found.id),
                 detail={"name": found.name})
    return jsonify(register.partner_json(found))


@operation(bp, "GET", "/agreements", auth="console", tags=TAGS)
@requires(RECOGNITION_READ)
def agreements() -> Response:
    """Credit recognition agreements, newest first, with their status (effective today)."""
    rows = db().scalars(select(Agreement).order_by(Agreement.id.desc()))
    return jsonify({"items": [
        {"id": a.id, "title": a.title, "reference": a.reference, "partner": a.partner.name,
         "direction": a.direction, "status": a.status, "effective_status": register.effective_status(a),
         "valid_from": a.valid_from.isoformat(), "valid_until": a.valid_until.isoformat(), "version": a.version}
        for a in rows]})


@operation(bp, "POST", "/agreements", auth="console", body=AgreementInput, responses=(Answer(201, "Created"),),
           tags=TAGS)
@requires(RECOGNITION_DECIDE)
def create_agreement(body: AgreementInput) -> tuple[Response, int]:
    """Draft a new agreement with every section of the MCRA template."""
    try:
        found = register.save_agreement(db(), body)
    except register.RegisterError as exc:
        refuse(exc)
    db().commit()
    audit.record(runtime().sessions, "agreement.create", target_type="agreement", target_id=str(found.id),
                 detail={"title": found.title, "partner_id": found.partner_id})
    return jsonify(register.agreement_json(found)), 201


@operation(bp, "GET", "/agreements/<int:agreement_id>", auth="console", path=IdPath, tags=TAGS)
@requires(RECOGNITION_READ)
def agreement(path: dict[str, Any]) -> Response:
    """One agreement as JSON: every section, its status, content digest and verified signatures."""
    return jsonify(register.agreement_json(agreement_or_404(path["agreement_id"])))


@operation(bp, "PUT", "/agreements/<int:agreement_id>", auth="console", path=IdPath, body=AgreementInput,
           tags=TAGS)
@requires(RECOGNITION_DECIDE)
def update_agreement(path: dict[str, Any], body: AgreementInput) -> Response:
    """Replace a draft's content (an agreed, signed or expired agreement is frozen: 409)."""
    found = agreement_or_404(path["agreement_id"])
    try:
        register.save_agreement(db(), body, found)
    except register.RegisterError as exc:
        audit.record(runtime().sessions, "agreement.update", target_type="agreement", target_id=str(found.id),
                     outcome="refused", detail={"reason": exc.message})
        refuse(exc)
    db().commit()
    audit.record(runtime().sessions, "agreement.update", target_type="agreement", target_id=str(found.id),
                 detail={"version": found.version})
    return jsonify(register.agreement_json(found))


@operation(bp, "POST", "/agreements/<int:agreement_id>:status", auth="console", path=IdPath, body=StatusChange,
           tags=TAGS)
@requires(RECOGNITION_DECIDE)
def change_status(path: dict[str, Any], body: StatusChange) -> Response:
    """Move an agreement along draft → agreed → signed → expired (signed: by uploading the signed PDF)."""
    found = agreement_or_404(path["agreement_id"])
    before = found.status
    try:
        register.change_status(found, body.status)
    except register.RegisterError as exc:
        audit.record(runtime().sessions, "agreement.status", target_type="agreement", target_id=str(found.id),
                     outcome="refused", detail={"from": before, "to": body.status})
        refuse(exc)
    db().commit()
    audit.record(runtime().sessions, "agreement.status", target_type="agreement", target_id=str(found.id),
                 detail={"from": before, "to": body.status})
    return jsonify(register.agreement_json(found))


# --- documents and signatures --------------------------------------------------------------------------
def pdf_response(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@operation(bp, "GET", "/agreements/<int:agreement_id>.pdf", auth="console", path=IdPath, query=LangQuery,
           responses=(Answer(200, "The agreement as a PDF, laid out like the ECCOE MCRA template",
                             media="application/pdf"),), tags=TAGS)
@requires(RECOGNITION_READ)
def agreement_pdf(path: dict[str, Any], query: dict[str, Any]) -> Response:
    """The agreement as a PDF to sign (English or French); its keywords carry the content digest."""
    found = agreement_or_404(path["agreement_id"])
    lang = query.get("lang", "en")
    return pdf_response(documents.agreement_pdf(db(), found, lang), f"agreement-{found.id}-{lang}.pdf")


def signed_upload(agreement: Agreement, data: bytes | None) -> signatures.UploadCheck:
    """Check an uploaded signed PDF and, when accepted, sign the agreement; audited either way."""
    if data is None:
        raise Problem(400, "Bad Request", "Send the signed PDF as the body or as the form field 'file'.",
                      kind="missing-file", errors=[FieldProblem("file", "no file was sent")])
    if agreement.status != "agreed":
        refuse(register.RegisterError(409, f"agreement {agreement.id} is {agreement.status}: only an agreed "
                                           "agreement is signed", "status"))
    rt = runtime()
    checked = signatures.check(data, f"{documents.KEYWORD}:{agreement.id}:{register.digest(agreement)}",
                               trust=signatures.anchors(rt.settings.env.get("EDC_VERIFY_TRUST")), at=register.now())
    detail = {"signatures": len(checked.signatures), "errors": checked.errors[:5]}
    if not checked.accepted:
        audit.record(rt.sessions, "agreement.sign", target_type="agreement", target_id=str(agreement.id),
                     outcome="refused", detail=detail)
        return checked
    register.mark_signed(agreement, data, checked.signatures_json())
    db().commit()
    audit.record(rt.sessions, "agreement.sign", target_type="agreement", target_id=str(agreement.id), detail=detail)
    return checked


def read_upload(limit: int) -> bytes | None:
    """The file of a multipart form (field ``file``) or the raw body, at most ``limit`` bytes (413)."""
    request.max_content_length = limit + 64 * 1024
    storage = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    if request.mimetype == "multipart/form-data":
        data = storage.stream.read(limit + 1) if storage is not None else b""
    else:
        data = request.get_data(cache=False)
    if len(data) > limit:
        raise Problem(413, "Payload Too Large", f"The file is larger than {limit} bytes.", kind="too-large",
                      errors=[FieldProblem("file", f"at most {limit} bytes")])
    return data or None


@operation(bp, "POST", "/agreements/<int:agreement_id>/signed", auth="console", path=IdPath, body=bytes,
           body_media=("application/pdf", "multipart/form-data"), tags=TAGS,
           responses=(Answer(200, "Signed: the agreement with its verified signatures"),
                      Answer(422, "Refused: signatures not intact, or not the agreed document",
                             media="application/problem+json")))
@requires(RECOGNITION_DECIDE)
def upload_signed(path: dict[str, Any]) -> Response:
    """Upload the signed PDF of an agreed agreement: its PAdES signatures are verified (pyHanko) and shown."""
    found = agreement_or_404(path["agreement_id"])
    checked = signed_upload(found, read_upload(signatures.MAX_PDF_BYTES))
    if not checked.accepted:
        raise Problem(422, "Signed PDF refused", "; ".join(checked.errors), kind="signed-pdf-refused",
                      errors=[FieldProblem("file", e) for e in checked.errors],
                      signatures=checked.signatures_json())
    return jsonify(register.agreement_json(found))


@operation(bp, "GET", "/agreements/<int:agreement_id>/signed.pdf", auth="console", path=IdPath,
           responses=(Answer(200, "The signed PDF as uploaded", media="application/pdf"),), tags=TAGS)
@requires(RECOGNITION_READ)
def signed_pdf(path: dict[str, Any]) -> Response:
    """The signed agreement as it was uploaded."""
    found = agreement_or_404(path["agreement_id"])
    if found.signed_pdf is None:
        raise Problem(404, "Not Found", "This agreement has no signed PDF.", kind="not-signed")
    return pdf_response(found.signed_pdf, f"agreement-{found.id}-signed.pdf")


# --- the recognition desk ------------------------------------------------------------------------------
def case_or_404(case_id: str) -> RecognitionCase:
    found = db().get(RecognitionCase, case_id)
    if found is None:
        raise Problem(404, "Not Found", "No recognition case with this id.", kind="case-not-found")
    return found


def open_case(data: bytes | None, via: str, lang: str) -> RecognitionCase:
    """Verify the credential and open a case matched against the register (audited)."""
    if data is None:
        raise Problem(400, "Bad Request", "Send the credential as the body or as the form field 'file'.",
                      kind="missing-file", errors=[FieldProblem("file", "no file was sent")])
    report = recognise_upload(data, lang)
    if report.get("refused"):
        raise Problem(422, "Not a credential file", report["errors"][0], kind="not-a-credential",
                      errors=[FieldProblem("file", report["errors"][0])])
    case = desk.open_case(db(), report, via)
    db().commit()
    audit.record(runtime().sessions, "recognition.case", target_type="case", target_id=case.id,
                 detail={"verdict": case.verdict, "match": case.match.get("outcome"),
                         "agreement_id": case.match.get("agreement_id")})
    return case


def record_decision(case: RecognitionCase, decision: Decision) -> None:
    who = identity()
    try:
        desk.decide(db(), case, decision, f"{who.display_name} ({who.username})")
    except register.RegisterError as exc:
        audit.record(runtime().sessions, "recognition.decide", target_type="case", target_id=case.id,
                     outcome="refused", detail={"reason": exc.message})
        refuse(exc)
    db().commit()
    audit.record(runtime().sessions, "recognition.decide", target_type="case", target_id=case.id,
                 detail={"decision": case.decision, "agreement_id": case.agreement_id})


def case_json(case: RecognitionCase) -> dict[str, Any]:
    return {**desk.case_summary(case), "match": case.match, "reasons": case.reasons,
            "recognised_as": case.equivalence, "decided_by": case.decided_by, "report": case.report}


@operation(bp, "POST", "/recognition/cases", auth="console", query=CaseQuery, body=bytes,
           body_media=("application/octet-stream", "multipart/form-data"), tags=TAGS,
           responses=(Answer(201, "The case: verification report and what the register says"),))
@requires(RECOGNITION_DECIDE)
def create_case(query: dict[str, Any]) -> tuple[Response, int]:
    """Bring a credential to the recognition desk: verified, matched against signed agreements in force.

    With ``recognise=true``, a credential an agreement covers is recognised at once, as the agreement says.
    """
    case = open_case(read_upload(max_bytes(runtime().settings)), "upload", query.get("lang", "en"))
    if query.get("recognise") == "true" and case.match.get("outcome") == "covered":
        record_decision(case, Decision(decision="recognised"))
    return jsonify(case_json(case)), 201


@operation(bp, "GET", "/recognition/cases", auth="console", tags=TAGS)
@requires(RECOGNITION_READ)
def cases() -> Response:
    """The latest 200 cases, newest first (no learner data)."""
    rows = db().scalars(select(RecognitionCase).order_by(RecognitionCase.created_at.desc()).limit(200))
    return jsonify({"items": [desk.case_summary(c) for c in rows]})


@operation(bp, "GET", "/recognition/cases/<case_id>", auth="console", path=CasePath, tags=TAGS)
@requires(RECOGNITION_READ)
def case(path: dict[str, Any]) -> Response:
    """One case: the verification report, the match, the decision."""
    return jsonify(case_json(case_or_404(path["case_id"])))


@operation(bp, "POST", "/recognition/cases/<case_id>:decide", auth="console", path=CasePath, body=Decision,
           tags=TAGS)
@requires(RECOGNITION_DECIDE)
def decide(path: dict[str, Any], body: Decision) -> Response:
    """Record the decision (recognised / partly / refused, reasons, equivalence); without an equivalence, a
    case an agreement covers is recognised as the agreement says."""
    found = case_or_404(path["case_id"])
    record_decision(found, body)
    return jsonify(case_json(found))


def decided(case_id: str) -> tuple[RecognitionCase, Agreement | None]:
    found = case_or_404(case_id)
    if found.decision is None:
        raise Problem(409, "Conflict", "This case has no decision yet.", kind="not-decided")
    return found, db().get(Agreement, found.agreement_id) if found.agreement_id else None


@operation(bp, "GET", "/recognition/cases/<case_id>/record", auth="console", path=CasePath, tags=TAGS)
@requires(RECOGNITION_READ)
def case_record(path: dict[str, Any]) -> Response:
    """The decision as JSON for the student-records system (names the learner)."""
    found, agreement_row = decided(path["case_id"])
    audit.record(runtime().sessions, "recognition.export", target_type="case", target_id=found.id,
                 detail={"format": "json"})
    return jsonify(desk.record_json(found, agreement_row))


@operation(bp, "GET", "/recognition/cases/<case_id>/letter.pdf", auth="console", path=CasePath, query=LangQuery,
           responses=(Answer(200, "The learner's letter", media="application/pdf"),), tags=TAGS)
@requires(RECOGNITION_READ)
def case_letter(path: dict[str, Any], query: dict[str, Any]) -> Response:
    """The decision as a PDF letter for the learner (English or French)."""
    found, agreement_row = decided(path["case_id"])
    lang = query.get("lang", "en")
    audit.record(runtime().sessions, "recognition.export", target_type="case", target_id=found.id,
                 detail={"format": "pdf", "lang": lang})
    return pdf_response(documents.letter_pdf(found, agreement_row, lang), f"recognition-{found.id}-{lang}.pdf")


@operation(bp, "GET", "/recognition/statistics", auth="console", tags=TAGS)
@requires(RECOGNITION_READ)
def recognition_statistics() -> Response:
    """Anonymous statistics per issuer and course: cases, outcomes, median days to decide."""
    return jsonify({"items": desk.statistics_by_issuer_and_course(db())})
