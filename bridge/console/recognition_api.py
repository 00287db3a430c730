"""The MCRA register's JSON API under ``/console/api``: partner institutions and credit recognition
agreements. Same sign-in, roles and audit entries as the console's pages: admins and recognition
officers change them, registrars and viewers read them."""
from __future__ import annotations

from typing import Any, NoReturn

from flask import Response, jsonify
from sqlalchemy import select

from bridge.api.common import runtime
from bridge.api.inputs import Answer, operation
from bridge.console import audit
from bridge.console.roles import RECOGNITION_DECIDE, RECOGNITION_READ
from bridge.console.web import console_api_blueprint, db, requires
from bridge.db.models import Agreement, Partner
from bridge.problems import FieldProblem, Problem
from bridge.recognition import agreements as register
from bridge.recognition.schemas import AgreementInput, IdPath, PartnerInput, PartnerPath, StatusChange

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
