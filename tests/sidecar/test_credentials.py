"""Credentials: the sealed file verifies, status and listing, resend and revoke."""
from __future__ import annotations

import json
from pathlib import Path

from sealer.validation import validate_seal

from .conftest import Sidecar, example_completion


def _issue(sidecar: Sidecar, learner_id: str = "17", course_id: str = "42") -> str:
    response = sidecar.admin("POST", "/api/v1/completions",
                             example_completion(course_id=course_id, learner={"id": learner_id}))
    assert response.status_code == 202, response.json
    return response.json["id"]


def test_sealed_credential_verifies_and_matches_the_completion(sidecar: Sidecar, dev_seal_p12: Path) -> None:
    sidecar.add_source()
    sidecar.put_template()
    cred_id = _issue(sidecar)
    sidecar.drain()
    status = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}").json
    assert status["status"] == "delivered"
    deliveries = [(d["channel"], d["status"], d["attempts"]) for d in status["deliveries"]]
    assert deliveries == [("email", "delivered", 1)]
    assert "camille" not in json.dumps(status).lower()  # status documents carry ids, not personal data
    sealed = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}/sealed")
    assert sealed.status_code == 200
    assert sealed.mimetype == "application/ld+json"
    report = validate_seal(sealed.data, trust=dev_seal_p12.parent / "dev-ca.pem")
    assert report.signature_intact, report.errors
    assert report.chain_trusted is True
    from bridge.db.models import Credential
    from bridge.tasks.pipeline import sealed_payload

    with sidecar.rt.sessions() as session:  # the unsealed copy is not kept twice
        assert session.get(Credential, cred_id).credential_json is None
    assert sealed_payload(sealed.data).encode() == report.payload
    credential = json.loads(report.payload)
    assert credential["id"] == f"urn:credential:{cred_id}"
    assert credential["credentialSubject"]["givenName"]
    # The outbox e-mail carries exactly the served bytes.
    eml = list((sidecar.settings.outbox_dir).glob("*.eml"))
    assert len(eml) == 1
    assert sealed.data.decode() in _attachments(eml[0])


def _attachments(path: Path) -> list[str]:
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    return [part.get_content() if isinstance(part.get_content(), str) else part.get_content().decode()
            for part in message.iter_attachments() if part.get_content_type() == "application/ld+json"]


def test_sealed_before_sealing_is_409_and_unknown_is_404(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template(policy={"issue_when": "passed"})
    skipped = sidecar.admin("POST", "/api/v1/completions", example_completion(passed=False)).json["id"]
    response = sidecar.admin("GET", f"/api/v1/credentials/{skipped}/sealed")
    assert response.status_code == 409
    assert "skipped" in response.json["detail"]
    assert sidecar.admin("GET", "/api/v1/credentials/unknown").status_code == 404
    too_long = sidecar.admin("GET", "/api/v1/credentials/" + "x" * 300)
    assert too_long.status_code == 400 and too_long.json["errors"][0]["field"] == "cred_id"


def test_listing_filters_and_pages(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    sidecar.put_template(course_id="43")
    by_id = {f"L{i}": _issue(sidecar, learner_id=f"L{i}") for i in range(5)}
    ids = set(by_id.values())
    other = _issue(sidecar, learner_id="L0", course_id="43")
    sidecar.drain()
    page1 = sidecar.admin("GET", "/api/v1/credentials?course_id=42&per_page=2").json
    assert page1["total"] == 5 and page1["pages"] == 3 and len(page1["items"]) == 2
    seen = {item["id"] for p in (1, 2, 3)
            for item in sidecar.admin("GET", f"/api/v1/credentials?course_id=42&per_page=2&page={p}")
            .json["items"]}
    assert seen == ids
    by_learner = sidecar.admin("GET", "/api/v1/credentials?learner_id=L0").json
    assert {i["id"] for i in by_learner["items"]} == {other, by_id["L0"]}
    assert by_learner["total"] == 2
    assert sidecar.admin("GET", "/api/v1/credentials?status=revoked").json["total"] == 0
    signed = sidecar.signed("GET", "/api/v1/credentials?course_id=43", key=key).json
    assert [i["id"] for i in signed["items"]] == [other]
    for query, field in (("page=0", "page"), ("per_page=1000", "per_page"), ("status=lost", "status"),
                         ("colour=red", "colour")):
        bad = sidecar.admin("GET", f"/api/v1/credentials?{query}")
        assert bad.status_code == 400
        assert bad.json["errors"][0]["field"] == field


def test_revoke_keeps_the_credential_and_blocks_resend(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template()
    cred_id = _issue(sidecar)
    sidecar.drain()
    revoked = sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:revoke", {"reason": "issued in error"})
    assert revoked.status_code == 200
    assert revoked.json["status"] == "revoked" and revoked.json["reason"] == "issued in error"
    assert revoked.json["revoked_at"]
    again = sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:revoke")
    assert again.json["revoked_at"] == revoked.json["revoked_at"]
    sealed = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}/sealed")
    assert sealed.status_code == 200 and sealed.headers["X-EDC-Revoked"]
    assert sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:resend").status_code == 409
    # A repeat completion after revocation still answers with the same (revoked) credential.
    repeat = sidecar.admin("POST", "/api/v1/completions", example_completion())
    assert repeat.json["id"] == cred_id and repeat.json["status"] == "revoked"
    assert sidecar.count() == 1
    bad = sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:revoke", {"reason": 5})
    assert bad.status_code == 422


def test_resend_delivers_again(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template()
    cred_id = _issue(sidecar)
    sidecar.drain()
    response = sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:resend", {"channels": ["email"]})
    assert response.status_code == 202
    sidecar.drain()
    status = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}").json
    assert status["status"] == "delivered"
    assert len(list(sidecar.settings.outbox_dir.glob("*.eml"))) == 2
    bad = sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:resend", {"channels": ["pigeon"]})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"].startswith("channels")
