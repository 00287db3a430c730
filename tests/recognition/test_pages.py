"""The recognition pages, as a browser without script uses them: forms with CSRF tokens, roles, errors
naming their fields, every action audited."""
from __future__ import annotations

import io

from bridge.db.models import Agreement

from .conftest import PARTNER_A, Console, admin
from .signing import TestPki, sign

FORM = {
    "title": "Data skills", "reference": "MCRA-7", "direction": "incoming", "learning_kind": "formal_faculty",
    "our_unit": "Faculty of Science", "valid_from": "2026-01-01", "valid_until": "2027-06-30", "min_grade": "10/20",
    "line_count": "3", "line0_direction": "incoming", "line0_their_title": "Data literacy", "line0_their_ects": "5",
    "line0_their_eqf": "6", "line0_our_course": "moodle-main/43", "line0_counts_as": "equivalent", "line0_ects": "5",
    "line1_direction": "incoming", "line1_their_title": "", "line2_direction": "incoming",
    "signatories0_side": "ours", "signatories0_name": "Dana Dean", "signatories0_position": "Dean",
    "signatories1_side": "theirs", "signatories1_name": "Pierre Président",
    "contacts0_side": "ours", "contacts0_name": "Rose Officer", "contacts0_email": "rose@univ.example",
}


def test_officer_creates_agreement_through_the_pages(console: Console) -> None:
    partner_id = admin(console, "POST", "/console/api/partners", PARTNER_A).json["id"]
    rose = console.browser("rose")
    assert 'id="nav-recognition"' in rose.get("/console/").get_data(as_text=True)
    page = rose.get("/console/agreements/new")
    assert page.status_code == 200 and "Data Analysis with Python" in page.get_data(as_text=True)  # our courses
    bad = rose.post("/console/agreements/new", {**FORM, "partner_id": str(partner_id), "our_unit": ""})
    assert bad.status_code == 422 and "our_unit" in bad.get_data(as_text=True)
    saved = rose.post("/console/agreements/new", {**FORM, "partner_id": str(partner_id)})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:2000]
    with console.car.rt.sessions() as session:
        row = session.query(Agreement).one()
        assert [(c.counts_as, c.our_course_id, c.our_title, c.their_ects) for c in row.courses] == [
            ("equivalent", "43", "Data Analysis with Python", 5)]
        assert row.signatories[1] == {"side": "theirs", "name": "Pierre Président"}
    shown = rose.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Data literacy" in shown and 'id="to-agreed"' in shown
    french = rose.get(saved.headers["Location"] + "?lang=fr").get_data(as_text=True)
    assert "Cours et leur équivalence" in french
    assert rose.post(f"/console/agreements/{row.id}/status", {"status": "agreed"}).status_code == 302
    assert rose.post(f"/console/agreements/{row.id}/edit", {**FORM, "partner_id": str(partner_id)}).status_code == 409
    pdf = rose.client.get(f"/console/api/agreements/{row.id}.pdf?lang=fr")
    assert pdf.status_code == 200
    refused = rose.post(f"/console/agreements/{row.id}/signed", {"file": (io.BytesIO(pdf.data), "a.pdf")},
                        content_type="multipart/form-data")
    assert refused.status_code == 422 and "no signature" in refused.get_data(as_text=True)
    signed = sign(pdf.data, TestPki.make().signer("Dana Dean", "Univ", None), "S1")
    done = rose.post(f"/console/agreements/{row.id}/signed", {"file": (io.BytesIO(signed), "a.pdf")},
                     content_type="multipart/form-data")
    assert done.status_code == 302
    page = rose.get(f"/console/agreements/{row.id}").get_data(as_text=True)
    assert "Dana Dean" in page and "signed" in page
    actions = [e.action for e in console.audit() if e.action.startswith("agreement.")]
    assert actions == ["agreement.create", "agreement.status", "agreement.sign", "agreement.sign"]

    vera = console.browser("vera")  # viewers read the register, never change it
    assert vera.get(f"/console/agreements/{row.id}").status_code == 200
    assert 'id="to-expired"' not in vera.get(f"/console/agreements/{row.id}").get_data(as_text=True)
    assert vera.post(f"/console/agreements/{row.id}/status", {"status": "expired"}).status_code == 403
    theo = console.browser("theo")  # a course team sees nothing of it
    assert theo.get("/console/agreements").status_code == 403
    assert theo.get("/console/recognition").status_code == 403


def test_desk_pages(console: Console) -> None:
    cred_id = console.issue()
    sealed = admin(console, "GET", f"/api/v1/credentials/{cred_id}/sealed").data
    rose = console.browser("rose")
    assert rose.post("/console/recognition", {"file": (io.BytesIO(sealed), "c.jsonld")}, csrf=False,
                     content_type="multipart/form-data").status_code == 400  # no CSRF token
    answer = rose.post("/console/recognition", {"file": (io.BytesIO(sealed), "c.jsonld")},
                       content_type="multipart/form-data")
    assert answer.status_code == 302
    case_url = answer.headers["Location"]
    page = rose.get(case_url).get_data(as_text=True)
    assert "Camille Martin" in page and "individual recognition" in page
    bad = rose.post(f"{case_url}/decision", {"decision": "refused", "reasons": ""})
    assert bad.status_code == 422 and "reasons" in bad.get_data(as_text=True)
    rose.get(case_url)
    ok = rose.post(f"{case_url}/decision", {"decision": "partly", "reasons": "Not supervised", "ects": "2,5",
                                            "course": "Statistics (part)"})
    assert ok.status_code == 302
    page = rose.get(case_url).get_data(as_text=True)
    assert "partly recognised" in page and 'id="letter-fr"' in page
    stats = rose.get("/console/recognition/statistics").get_data(as_text=True)
    assert "Data Analysis with Python" in stats and "Camille" not in stats
    not_a_credential = rose.post("/console/recognition", {"file": (io.BytesIO(b"hello"), "c.txt")},
                                 content_type="multipart/form-data")
    assert not_a_credential.status_code == 422 and 'id="problem"' in not_a_credential.get_data(as_text=True)
