"""The MCRA register: partners, agreements with every template section, the enforced life cycle,
roles, audit entries, and the recognition options the catalogue reads."""
from __future__ import annotations

import datetime as dt

from bridge.db.models import Agreement
from bridge.recognition.agreements import mark_signed, options_for_template

from .conftest import PARTNER_A, Console, admin, agreement_body


def _partner(console: Console) -> int:
    answer = admin(console, "POST", "/console/api/partners", PARTNER_A)
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def test_agreement_life_cycle_and_options(console: Console) -> None:
    partner_id = _partner(console)
    created = admin(console, "POST", "/console/api/agreements", agreement_body(partner_id))
    assert created.status_code == 201, created.json
    agreement_id = created.json["id"]
    assert created.json["status"] == "draft"
    assert [c["counts_as"] for c in created.json["courses"]] == ["credits", "elective"]
    assert created.json["partner"]["eidas_identifier"] == "VATFR-12345678901"

    # draft → signed directly, and agreed → signed by hand are refused; the content freezes once agreed
    assert admin(console, "POST", f"/console/api/agreements/{agreement_id}:status",
                 {"status": "signed"}).status_code == 409
    assert admin(console, "POST", f"/console/api/agreements/{agreement_id}:status",
                 {"status": "agreed"}).status_code == 200
    frozen = admin(console, "PUT", f"/console/api/agreements/{agreement_id}", agreement_body(partner_id, title="X"))
    assert frozen.status_code == 409
    assert admin(console, "POST", f"/console/api/agreements/{agreement_id}:status",
                 {"status": "signed"}).status_code == 409

    with console.car.app.app_context(), console.car.rt.sessions() as session:
        assert options_for_template("42", session=session) == []  # not signed yet
        row = session.get(Agreement, agreement_id)
        mark_signed(row, b"%PDF-", [])
        session.commit()
        options = options_for_template("42", source="moodle-main", session=session)
        assert [(o.partner, o.direction, o.counts_as, o.elective_slot, o.ects) for o in options] == [
            ("Université A", "outgoing", "elective", "Free elective, year 2", 4)]
        assert options_for_template("42", source="other", session=session) == []
        assert options_for_template("42", session=session, on=dt.date(2028, 1, 1)) == []  # past validity
        assert options_for_template("43", session=session)[0].their_title == "Data literacy"
    with console.car.app.app_context():
        assert len(options_for_template("43")) == 1  # the app's own database by default

    shown = admin(console, "GET", f"/console/api/agreements/{agreement_id}").json
    assert shown["status"] == "signed" and shown["effective_status"] == "signed"  # pinned clock: 2026-12-01
    assert admin(console, "POST", f"/console/api/agreements/{agreement_id}:status",
                 {"status": "draft"}).status_code == 409
    assert admin(console, "POST", f"/console/api/agreements/{agreement_id}:status",
                 {"status": "expired"}).status_code == 200
    assert [e.detail for e in console.audit("agreement.status")] == [
        {"from": "draft", "to": "signed"}, {"from": "draft", "to": "agreed"}, {"from": "agreed", "to": "signed"},
        {"from": "signed", "to": "draft"}, {"from": "signed", "to": "expired"}]
    assert [e.outcome for e in console.audit("agreement.status")] == ["refused", "ok", "refused", "refused", "ok"]


def test_invalid_agreements_name_their_field(console: Console) -> None:
    partner_id = _partner(console)
    cases = {
        "valid_until": {"valid_until": "2025-01-01"},
        "our_unit": {"learning_kind": "formal_faculty"},
        "signatories": {"signatories": [{"side": "ours", "name": "Only us"}]},
        "courses": {"direction": "incoming"},  # its outgoing line does not fit
    }
    for expected, change in cases.items():
        answer = admin(console, "POST", "/console/api/agreements", agreement_body(partner_id, **change))
        assert answer.status_code == 422, (expected, answer.json)
        assert expected in answer.get_data(as_text=True)
    line = {"direction": "incoming", "their_title": "X", "counts_as": "credits"}
    answer = admin(console, "POST", "/console/api/agreements", agreement_body(partner_id, courses=[line]))
    assert answer.status_code == 422 and "ects" in answer.get_data(as_text=True)
    unknown = admin(console, "POST", "/console/api/agreements", agreement_body(9999))
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "partner_id"
    twin = admin(console, "POST", "/console/api/partners", {**PARTNER_A, "name": "Twin"})
    assert twin.status_code == 409 and twin.json["errors"][0]["field"] == "eidas_identifier"
    assert admin(console, "POST", "/console/api/partners", {**PARTNER_A, "country": "France"}).status_code == 422


def test_roles(console: Console) -> None:
    partner_id = _partner(console)
    body = agreement_body(partner_id)
    for who, read, write in (("rose", 200, 201), ("rita", 200, 403), ("vera", 200, 403), ("theo", 403, 403)):
        browser = console.browser(who)
        assert browser.client.get("/console/api/agreements").status_code == read, who
        answer = browser.client.post("/console/api/agreements", json=body, headers={"X-CSRFToken": browser.token})
        assert answer.status_code == write, (who, answer.get_data(as_text=True)[:300])
    rose = console.browser("rose")
    assert rose.client.post("/console/api/agreements", json=body).status_code == 400  # no CSRF token
