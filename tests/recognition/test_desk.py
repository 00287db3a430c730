"""The recognition desk's rules: only a valid seal naming its issuer can be covered by an agreement;
grades compare on one scale; decisions are checked, once only, audited; signed PDFs that are not the
agreed document or were changed are refused."""
from __future__ import annotations

import io

import pytest

from bridge.recognition.desk import grade_meets

from .conftest import PARTNER_A, Console, admin, agreement_body
from .signing import TestPki, sign


@pytest.mark.parametrize(("grade", "minimum", "expected"), [
    ("15", "12", True), ("11.5", "12", False), ("15/20", "12/20", True), ("87.5/100 (Très bien)", "50/100", True),
    ("40/100", "12/20", False), ("75 %", "60", True), ("B", "C", True), ("D", "C", False), ("Très bien", "12", None),
    (None, "12", None), ("12,5", "12", True),
])
def test_grades(grade: str | None, minimum: str, expected: bool | None) -> None:
    assert grade_meets(grade, minimum) is expected


def _signed_agreement_with_self(console: Console) -> int:
    """An agreement naming this very sidecar's seal (VATFR-00000000000) as the partner's."""
    partner = admin(console, "POST", "/console/api/partners", {**PARTNER_A, "eidas_identifier": "VATFR-00000000000"})
    body = agreement_body(partner.json["id"])
    body["courses"][0].update(their_lo_iri="http://sidecar.test/catalogue/moodle-main/42.jsonld")
    number = admin(console, "POST", "/console/api/agreements", body).json["id"]
    admin(console, "POST", f"/console/api/agreements/{number}:status", {"status": "agreed"})
    unsigned = admin(console, "GET", f"/console/api/agreements/{number}.pdf").data
    signed = sign(unsigned, TestPki.make().signer("Dana Dean", "Univ", None), "Signature1")
    answer = console.car.client.post(f"/console/api/agreements/{number}/signed", data=signed,
                                     headers={"Authorization": "Bearer test-admin-token-0123456789",
                                              "Content-Type": "application/pdf"})
    assert answer.status_code == 200, answer.json
    return number


def test_unverified_credential_is_never_covered(console: Console) -> None:
    _signed_agreement_with_self(console)
    cred_id = console.issue()
    sealed = admin(console, "GET", f"/api/v1/credentials/{cred_id}/sealed").data
    # No EDC_VERIFY_TRUST here: the seal is indeterminate, so no agreement applies, whatever the content says.
    answer = console.car.client.post("/console/api/recognition/cases?recognise=true", data=sealed, headers={
        "Authorization": "Bearer test-admin-token-0123456789", "Content-Type": "application/octet-stream"})
    assert answer.status_code == 201, answer.json
    assert answer.json["verdict"] == "indeterminate"
    assert answer.json["match"]["outcome"] == "individual" and answer.json["match"]["reason"] == "unverified"
    assert answer.json["decision"] is None
    case_id = answer.json["id"]
    decide = f"/console/api/recognition/cases/{case_id}:decide"
    missing = admin(console, "POST", decide, {"decision": "recognised"})
    assert missing.status_code == 422 and missing.json["errors"][0]["field"] == "ects"
    assert admin(console, "POST", decide, {"decision": "refused"}).status_code == 422  # reasons required
    done = admin(console, "POST", decide, {"decision": "partly", "reasons": "Exam not supervised", "ects": 3,
                                           "course": "Statistics I (part)"})
    assert done.status_code == 200 and done.json["recognised_as"]["ects"] == 3
    assert admin(console, "POST", decide, {"decision": "refused", "reasons": "x"}).status_code == 409
    assert [e.outcome for e in console.audit("recognition.decide")] == ["refused", "ok", "refused"]
    letter = admin(console, "GET", f"/console/api/recognition/cases/{case_id}/letter.pdf")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF-")
    rose = console.browser("vera")  # viewers read, never decide
    assert rose.client.get(f"/console/api/recognition/cases/{case_id}").status_code == 200
    assert rose.client.post(decide, json={"decision": "recognised"},
                            headers={"X-CSRFToken": rose.token}).status_code == 403


def test_signed_pdf_refusals(console: Console) -> None:
    partner = admin(console, "POST", "/console/api/partners", PARTNER_A).json["id"]
    number = admin(console, "POST", "/console/api/agreements", agreement_body(partner)).json["id"]
    other = admin(console, "POST", "/console/api/agreements", agreement_body(partner, title="Other")).json["id"]
    headers = {"Authorization": "Bearer test-admin-token-0123456789", "Content-Type": "application/pdf"}
    pdf = admin(console, "GET", f"/console/api/agreements/{number}.pdf").data
    signer = TestPki.make().signer("Dana Dean", "Univ", None)
    # A draft is not signed yet: 409.
    assert console.car.client.post(f"/console/api/agreements/{number}/signed", data=sign(pdf, signer, "S"),
                                   headers=headers).status_code == 409
    for agreement_id in (number, other):
        admin(console, "POST", f"/console/api/agreements/{agreement_id}:status", {"status": "agreed"})
    # The other agreement's PDF, signed, is not this agreement.
    other_pdf = sign(admin(console, "GET", f"/console/api/agreements/{other}.pdf").data, signer, "S")
    wrong = console.car.client.post(f"/console/api/agreements/{number}/signed", data=other_pdf, headers=headers)
    assert wrong.status_code == 422 and "not the agreement as agreed" in wrong.json["detail"]
    # Changed after signing: a byte of the signed revision altered.
    signed = sign(pdf, signer, "S")
    tampered = signed.replace(b"/Producer", b"/Produzer", 1)
    answer = console.car.client.post(f"/console/api/agreements/{number}/signed", data=tampered, headers=headers)
    assert answer.status_code == 422
    # Content added after the last signature.
    appended = signed + b"\n% appended\n"
    answer = console.car.client.post(f"/console/api/agreements/{number}/signed", headers=headers, data=appended)
    assert answer.status_code == 422 and "whole file" in answer.json["detail"]
    not_pdf = console.car.client.post(f"/console/api/agreements/{number}/signed", data=b"hello", headers=headers)
    assert not_pdf.status_code == 422
    fine = console.car.client.post(f"/console/api/agreements/{number}/signed", headers={
        "Authorization": headers["Authorization"]}, data={"file": (io.BytesIO(signed), "signed.pdf")},
        content_type="multipart/form-data")
    assert fine.status_code == 200 and fine.json["status"] == "signed"
    assert fine.json["signatures"][0]["trusted"] is None  # no trust anchors configured: not judged
    assert [e.outcome for e in console.audit("agreement.sign")] == ["refused"] * 4 + ["ok"]
    assert admin(console, "GET", f"/console/api/agreements/{number}/signed.pdf").data == signed


def test_two_officers_deciding_at_once_get_one_decision(console: Console) -> None:
    """Both read the case undecided; the second write finds it decided and is refused (409), not applied."""
    from bridge.db.models import RecognitionCase
    from bridge.recognition import desk
    from bridge.recognition.agreements import RegisterError
    from bridge.recognition.schemas import Decision

    cred_id = console.issue()
    sealed = admin(console, "GET", f"/api/v1/credentials/{cred_id}/sealed").data
    case_id = console.car.client.post("/console/api/recognition/cases", data=sealed, headers={
        "Authorization": "Bearer test-admin-token-0123456789", "Content-Type": "application/octet-stream"}).json["id"]
    sessions = console.car.rt.sessions
    with console.car.app.app_context(), sessions() as first, sessions() as second:
        mine, theirs = first.get(RecognitionCase, case_id), second.get(RecognitionCase, case_id)
        assert mine.decision is None and theirs.decision is None
        desk.decide(first, mine, Decision(decision="refused", reasons="Too old"), "Rose")
        first.commit()
        with pytest.raises(RegisterError) as refused:
            desk.decide(second, theirs, Decision(decision="recognised", ects=5), "Alice")
        assert refused.value.status == 409
    assert admin(console, "GET", f"/console/api/recognition/cases/{case_id}").json["decision"] == "refused"
