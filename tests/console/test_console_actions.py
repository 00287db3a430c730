"""Console actions and what they leave: resend, revoke (learner told), re-issue after a template fix,
bulk retry, the timeline, template history/diff/preview, exports, and the append-only audit log."""
from __future__ import annotations

import csv
import email
import email.policy
import io
import json

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.console.conftest import Console
from tests.sidecar.conftest import ADMIN, example_template


def _wallet_only(console: Console, course: str = "42") -> None:
    """A template fault: its policy delivers to the wallet, which this sidecar has not configured."""
    console.car.put_template(course, policy={"channels": ["wallet"]})


def _status(console: Console, cred_id: str) -> str:
    return console.car.admin("GET", f"/api/v1/credentials/{cred_id}").json["status"]


def test_fix_the_template_then_reissue(console: Console) -> None:
    _wallet_only(console)
    cred_id = console.issue()
    assert _status(console, cred_id) == "failed"
    rita = console.browser("rita")
    figures = rita.client.get("/console/api/dashboard").json
    assert figures["failed"] == 1 and figures["failed_reasons"][0][1] == 1
    assert "wallet channel is not configured" in figures["failed_reasons"][0][0]
    page = rita.get(f"/console/credentials/{cred_id}").get_data(as_text=True)
    assert "wallet channel is not configured" in page and 'id="reissue"' in page
    # Fix the template in the console: the policy's channel becomes e-mail.
    rita.get("/console/templates/moodle-main/42")
    body = {**example_template(), "policy": {"channels": ["email"]}}
    saved = rita.post("/console/templates/moodle-main/42", {"template": json.dumps(body)})
    assert saved.status_code == 302
    answer = rita.post(f"/console/credentials/{cred_id}/reissue")
    assert answer.status_code == 302
    console.car.drain()
    assert _status(console, cred_id) == "delivered"
    page = rita.get(f"/console/credentials/{cred_id}").get_data(as_text=True)
    timeline = page.split('id="timeline"')[1].split("</ol>")[0]
    assert timeline.index("failed (attempt 1)") < timeline.index("credential.reissue") \
        < timeline.index("delivered (attempt 1)")
    assert "by Rita" in timeline
    actions = [(e.action, e.actor_name, e.target_id) for e in console.audit()
               if e.actor_kind == "staff" and e.action.startswith(("template", "credential"))]
    assert actions == [("template.save", "Rita", "moodle-main/42"), ("credential.reissue", "Rita", cred_id)]
    # The faulty template came through the API with the admin token, and says so.
    assert ("template.save", "admin-token", "moodle-main/42") in [
        (e.action, e.actor_name, e.target_id) for e in console.audit() if e.actor_kind == "api"]
    # The history says who changed what; the diff shows the change of channel.
    template_page = rita.get("/console/templates/moodle-main/42").get_data(as_text=True)
    history = template_page.split('id="history"')[1]
    assert "Rita (rita, console)" in history and "admin token (API)" in history
    diff = rita.get("/console/template-diff/moodle-main/42").get_data(as_text=True)
    assert '<del>-      &#34;wallet&#34;</del>' in diff and '<ins>+      &#34;email&#34;</ins>' in diff


def test_invalid_template_edit_is_refused_with_its_fields(console: Console) -> None:
    rita = console.browser("rita")
    rita.get("/console/templates/moodle-main/42")
    broken = {**example_template(), "ects": -3}
    answer = rita.post("/console/templates/moodle-main/42", {"template": json.dumps(broken)})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "<code>ects</code>" in page
    assert rita.post("/console/templates/moodle-main/42", {"template": "{not json"}).status_code == 422
    assert [e.outcome for e in console.audit("template.save") if e.actor_kind == "staff"] == ["refused", "refused"]
    assert console.car.admin("GET", "/api/v1/sources/moodle-main/courses/42/template").json["version"] == 1


def test_resend_and_revoke_with_the_learner_told(console: Console) -> None:
    cred_id = console.issue()
    rita = console.browser("rita")
    rita.get(f"/console/credentials/{cred_id}")
    assert rita.post(f"/console/credentials/{cred_id}/resend").status_code == 302
    console.car.drain()
    outbox = console.car.settings.outbox_dir
    assert len(list(outbox.glob("*.eml"))) == 2
    answer = rita.post(f"/console/credentials/{cred_id}/revoke", {"reason": "", "notify": "1"})
    assert answer.status_code == 422 and _status(console, cred_id) == "delivered"
    answer = rita.post(f"/console/credentials/{cred_id}/revoke", {"reason": "Grade entered in error",
                                                                  "notify": "1"})
    assert answer.status_code == 302 and "done=revoked" in answer.headers["Location"]
    assert _status(console, cred_id) == "revoked"
    notices = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
               for p in sorted(outbox.glob("*.eml"))]
    notice = next(m for m in notices if str(m["Subject"]).startswith("Votre attestation a été révoquée"))
    assert notice["To"].addresses[0].addr_spec == "camille@example.org"  # in the learner's language (fr)
    text_body = notice.get_body(("plain",)).get_content()
    assert "Motif indiqué : Grade entered in error" in text_body
    entry = console.audit("credential.revoke")[-1]
    assert entry.detail["learner_notified"] == "yes" and entry.detail["revocation_reason"] == "Grade entered in error"
    assert [e.outcome for e in console.audit("credential.revoke")] == ["refused", "ok"]
    # Nothing more can be sent for a revoked credential.
    assert rita.post(f"/console/credentials/{cred_id}/resend").status_code == 409


def test_bulk_retry_of_failed_credentials(console: Console) -> None:
    _wallet_only(console)
    failed = [console.issue("42", str(n), email=f"l{n}@example.org") for n in range(3)]
    assert {_status(console, c) for c in failed} == {"failed"}
    console.car.put_template("42", policy={"channels": ["email"]})
    api_user = console.browser("rita")
    answer = api_user.client.post("/console/api/credentials:retry-failed?course_id=42",
                                  headers={"X-CSRFToken": api_user.token})
    assert answer.status_code == 202 and answer.json == {"selected": 3, "queued": 3}
    console.car.drain()
    assert {_status(console, c) for c in failed} == {"delivered"}
    entry = console.audit("credential.retry-failed")[-1]
    assert entry.target_id == "course_id=42" and entry.detail == {"selected": 3, "queued": 3}


def test_previews_use_the_real_builders(console: Console) -> None:
    vera = console.browser("vera")
    page = vera.get("/console/template-preview/moodle-main/42").get_data(as_text=True)
    assert 'id="learner-page-missing"' in page  # no credential of the course yet
    console.issue()
    page = vera.get("/console/template-preview/moodle-main/42").get_data(as_text=True)
    link = page.split('id="learner-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.startswith("http://sidecar.test/c/")
    assert console.car.client.get(link.removeprefix("http://sidecar.test")).status_code == 200  # h15's page
    page = vera.get("/console/template-preview/moodle-main/42?in=fr").get_data(as_text=True)
    assert 'id="email-subject"' in page and "Analyse de données avec Python" in page
    assert "urn:credential:00000000-0000-4000-8000-000000000000" in page
    html = vera.get("/console/template-preview/moodle-main/42?in=en&part=email-html")
    assert html.mimetype == "text/html" and "sandbox" in html.headers["Content-Security-Policy"]
    assert "Data Analysis with Python" in html.get_data(as_text=True)


def test_exports_csv_and_xlsx(console: Console) -> None:
    console.issue("42", "17", given_name="=HYPERLINK(\"http://evil\")")
    rita = console.browser("rita")
    exported = rita.client.get("/console/credentials/export.csv?course_id=42")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert 'filename="credentials-42.csv"' in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 and rows[0]["learner_name"].startswith("'=HYPERLINK")
    assert rows[0]["status"] == "delivered" and rows[0]["deliveries"] == "email=delivered"
    book = rita.client.get("/console/credentials/export.xlsx?since=2000-01-01")
    sheet = openpyxl.load_workbook(io.BytesIO(book.data)).active
    values = list(sheet.values)
    assert values[0][0] == "credential_id" and len(values) == 2 and values[1][2] == "42"
    assert console.audit("credentials.export")[-1].detail == {"format": "xlsx", "rows": 1}
    assert rita.client.get("/console/credentials/export.csv?since=tomorrow").status_code == 400


def test_audit_log_is_append_only(console_any: Console) -> None:
    console = console_any
    console.browser("alice")
    with console.car.rt.sessions() as session:
        for statement in ("UPDATE audit_log SET actor_name = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                session.execute(text(statement))
            session.rollback()
    entries = console.audit("sign-in")
    assert [e.actor_name for e in entries] == ["Alice"]
    page = console.browser("alice").get("/console/audit?action=sign-in").get_data(as_text=True)
    assert page.count("<code>sign-in</code>") == 2


def test_search_filters(console_any: Console) -> None:
    console = console_any
    first = console.issue("42", "17", given_name="Zoé", family_name="Lambert", email="zoe@example.org")
    second = console.issue("43", "18", given_name="Marc", family_name="Durand", email="marc@example.org")
    vera = console.browser("vera")

    def found(query: str) -> set[str]:
        return {item["id"] for item in vera.client.get(f"/console/api/credentials?{query}").json["items"]}

    assert found("q=lambert") == {first}
    assert found("q=MARC%40example") == {second}
    assert found("q=18") == {second}
    assert found("course_id=43&status=delivered") == {second}
    assert found("status=failed") == set()
    assert found("since=2000-01-01&until=2999-12-31") == {first, second}
    assert found("until=2000-01-01") == set()
    bad = vera.client.get("/console/api/credentials?status=lost")
    assert bad.status_code == 400 and bad.json["errors"][0]["field"] == "status"


def test_reissue_of_a_delivered_credential_revokes_it_and_issues_a_new_one(console: Console) -> None:
    """The console's re-issue is the API's: a credential the learner holds is revoked (with the reason)
    and a new one is issued and delivered; one audit entry names both."""
    cred_id = console.issue()
    assert _status(console, cred_id) == "delivered"
    rita = console.browser("rita")
    page = rita.get(f"/console/credentials/{cred_id}").get_data(as_text=True)
    assert 'id="reissue"' in page and 'id="reissue-reason"' in page
    answer = rita.post(f"/console/credentials/{cred_id}/reissue", {"reason": "name misspelt"})
    assert answer.status_code == 302
    new_id = console.car.admin("GET", f"/api/v1/credentials/{cred_id}").json["replaced_by"]
    assert new_id and new_id != cred_id and new_id in answer.headers["Location"]
    console.car.drain()
    old = console.car.admin("GET", f"/api/v1/credentials/{cred_id}").json
    assert old["status"] == "revoked" and old["reason"] == "name misspelt"
    assert _status(console, new_id) == "delivered"
    page = rita.get(f"/console/credentials/{cred_id}").get_data(as_text=True)
    assert 'id="replaced-by"' in page and 'id="reissue"' not in page
    [entry] = console.audit("credential.reissue")
    assert (entry.actor_name, entry.target_id, entry.outcome) == ("Rita", cred_id, "ok")
    assert entry.detail["new_credential"] == new_id and entry.detail["revoked"] is True


def test_api_actions_with_the_admin_token_are_audited_like_console_actions(console: Console) -> None:
    cred_id = console.issue()
    car = console.car
    assert car.admin("POST", f"/api/v1/credentials/{cred_id}:resend", {"channels": ["email"]}).status_code == 202
    assert car.admin("POST", f"/api/v1/credentials/{cred_id}:revoke", {"reason": "grade entered in error"}
                     ).status_code == 200
    assert car.admin("POST", f"/api/v1/credentials/{cred_id}:resend").status_code == 409  # revoked: refused
    assert car.admin("POST", "/api/v1/credentials/no-such-id:revoke", {"reason": "x"}).status_code == 404
    assert car.signed("PUT", "/api/v1/sources/moodle-main/courses/44/template", example_template(),
                      key=console.key).status_code == 201
    create_only = car.client.put("/api/v1/sources/moodle-main/courses/44/template", json=example_template(),
                                 headers={"Authorization": f"Bearer {ADMIN}", "If-None-Match": "*"})
    assert create_only.status_code == 412  # the course has a template now: refused, and recorded
    entries = [(e.actor_kind, e.actor_name, e.action, e.target_id, e.outcome) for e in console.audit()
               if e.action.startswith(("credential.", "template."))]
    assert entries[-6:] == [
        ("api", "admin-token", "credential.resend", cred_id, "ok"),
        ("api", "admin-token", "credential.revoke", cred_id, "ok"),
        ("api", "admin-token", "credential.resend", cred_id, "refused"),
        ("api", "admin-token", "credential.revoke", "no-such-id", "refused"),
        ("api", "moodle-main", "template.save", "moodle-main/44", "ok"),
        ("api", "admin-token", "template.save", "moodle-main/44", "refused"),
    ]
    assert console.audit("template.save")[-1].detail == {"status": 412, "errors": 1}
    revoke = console.audit("credential.revoke")[0]
    assert revoke.detail == {"revocation_reason": "grade entered in error", "changed": True}
    assert revoke.ip == "127.0.0.1"
    shown = console.browser("rita").client.get("/console/api/audit").json["items"]
    assert [(e["actor_kind"], e["actor"], e["action"], e["outcome"]) for e in shown[1:3]] == [
        ("api", "admin-token", "template.save", "refused"), ("api", "moodle-main", "template.save", "ok")]
    assert shown[0]["action"] == "sign-in"  # Rita's, just before reading the log
