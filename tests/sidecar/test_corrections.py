"""Corrections and resits: the same rules on the single and the batch route, a replaced completion
before sealing, a 409 naming the credential after it, and re-issuing (revoke + issue anew)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from bridge.db.models import AuditEntry, Credential
from bridge.tasks.pipeline import issue_many
from sealer.validation import parse

from .conftest import Sidecar, example_completion, make_sidecar

SINGLE, BATCH = "/api/v1/completions", "/api/v1/completions:batch"


class Holding:
    """A dispatcher that only records: credentials are issued when the test says so."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def issue(self, credential_ids: Any, eta: Any = None) -> None:
        self.issued.extend(credential_ids)

    def deliver(self, delivery_id: int, eta: Any = None) -> None:
        return None

    def deliver_many(self, delivery_ids: Any) -> None:
        return None


@pytest.fixture
def held(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> tuple[Sidecar, str]:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, dispatcher=Holding())
    key = car.add_source()
    car.put_template(policy={"channels": []})
    return car, key


_stamp = iter(range(10**6))


def send(car: Sidecar, key: str, route: str, completion: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """One completion through ``route``, the answer in the single route's terms (batch: item 0)."""
    timestamp = int(time.time()) + next(_stamp) % 100  # fresh signatures for identical bodies
    if route == SINGLE:
        answer = car.signed("POST", SINGLE, completion, key=key, timestamp=timestamp)
        return answer.status_code, answer.json
    answer = car.signed("POST", BATCH, {"completions": [completion]}, key=key, timestamp=timestamp)
    assert answer.status_code == 202, answer.json
    body = answer.json
    if body["conflicts"]:
        return 409, {"credential_id": body["conflicts"][0]["id"], "changed": body["conflicts"][0]["changed"]}
    with car.rt.sessions() as session:
        cred = session.scalar(select(Credential).where(Credential.learner_id == completion["learner"]["id"],
                                                       Credential.superseded == 0))
    return 202, {"id": cred.id, "status": cred.status, "duplicate": body["duplicates"] == 1,
                 "replaced": body["replaced"] == 1}


def _row(car: Sidecar, cred_id: str) -> Credential:
    with car.rt.sessions() as session:
        row = session.get(Credential, cred_id)
        assert row is not None
        session.expunge(row)
        return row


def _payload(car: Sidecar, cred_id: str) -> dict[str, Any]:
    sealed = car.admin("GET", f"/api/v1/credentials/{cred_id}/sealed")
    assert sealed.status_code == 200, sealed.json
    return json.loads(parse(sealed.data).payload)


def _names(credential: dict[str, Any]) -> str:
    return json.dumps(credential["credentialSubject"], ensure_ascii=False)


@pytest.mark.parametrize("route", [SINGLE, BATCH])
def test_a_resit_upgrades_the_skipped_credential_on_both_routes(held: tuple[Sidecar, str], route: str) -> None:
    car, key = held
    failed = example_completion(passed=False, grade={"score": 30, "max": 100})
    status, first = send(car, key, route, failed)
    assert status == 202 and first["status"] == "skipped"
    assert send(car, key, route, failed)[1]["duplicate"] is True  # the same failure again changes nothing
    status, resit = send(car, key, route, example_completion(grade={"score": 75, "max": 100}))
    assert status == 202 and resit["id"] == first["id"] and resit["replaced"] is True
    assert resit["status"] == "received"
    assert car.rt.dispatcher.issued[-1] == first["id"]
    assert issue_many(car.rt.context, [first["id"]]) == {first["id"]: "sealed"}
    assert _row(car, first["id"]).completion["grade"]["score"] == 75


@pytest.mark.parametrize("route", [SINGLE, BATCH])
def test_a_correction_before_sealing_replaces_the_completion(held: tuple[Sidecar, str], route: str) -> None:
    car, key = held
    status, first = send(car, key, route, example_completion())
    assert status == 202 and first["status"] == "received"
    corrected = example_completion(learner={"family_name": "Martin-Durand"}, grade={"score": 91, "max": 100})
    status, again = send(car, key, route, corrected)
    assert status == 202 and again["id"] == first["id"] and again["replaced"] is True and not again["duplicate"]
    if route == SINGLE:
        assert again["changed"] == ["grade", "learner.family_name"]
    issue_many(car.rt.context, [first["id"]])
    credential = _payload(car, first["id"])
    assert "Martin-Durand" in _names(credential) and "91" in json.dumps(credential)


def test_a_credential_built_from_a_replaced_completion_is_not_sealed(held: tuple[Sidecar, str],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The correction arrives while a worker is sealing the old completion: the worker's seal loses the
    compare-and-set on (status, revision); the next run seals the corrected completion."""
    car, key = held
    cred_id = send(car, key, SINGLE, example_completion())[1]["id"]
    services = car.rt.context.services
    real = services.seal_chunk
    sent: list[int] = []

    def seal_while_corrected(items: Any) -> Any:
        if not sent:
            sent.append(send(car, key, SINGLE, example_completion(learner={"family_name": "Durand"}))[0])
        return real(items)

    monkeypatch.setattr(services, "seal_chunk", seal_while_corrected)
    assert issue_many(car.rt.context, [cred_id]) == {cred_id: "received"}
    assert sent == [202] and _row(car, cred_id).sealed_zstd is None
    assert issue_many(car.rt.context, [cred_id]) == {cred_id: "sealed"}
    assert "Durand" in _names(_payload(car, cred_id))


@pytest.mark.parametrize("route", [SINGLE, BATCH])
def test_after_sealing_a_change_is_a_conflict_and_a_repeat_a_duplicate(held: tuple[Sidecar, str], route: str) -> None:
    car, key = held
    completion = example_completion()
    cred_id = send(car, key, route, completion)[1]["id"]
    issue_many(car.rt.context, [cred_id])
    before = _row(car, cred_id)
    status, repeat = send(car, key, route, completion)
    assert status == 202 and repeat["id"] == cred_id and repeat["duplicate"] is True
    for change, field in ((dict(grade={"score": 99, "max": 100}), "grade"),
                          (dict(learner={"given_name": "Camilla"}), "learner.given_name"),
                          (dict(completed_at="2026-11-02T10:00:00Z"), "completed_at")):
        status, conflict = send(car, key, route, example_completion(**change))
        assert status == 409 and conflict["credential_id"] == cred_id and conflict["changed"] == [field]
    after = _row(car, cred_id)
    assert after.completion == before.completion and after.status == "sealed" and after.revision == before.revision


def test_the_conflict_problem_and_a_mixed_batch(held: tuple[Sidecar, str]) -> None:
    car, key = held
    cred_id = car.signed("POST", SINGLE, example_completion(), key=key).json["id"]
    issue_many(car.rt.context, [cred_id])
    answer = car.signed("POST", SINGLE, example_completion(grade={"score": 12, "max": 100}), key=key)
    assert answer.status_code == 409 and answer.mimetype == "application/problem+json"
    problem = answer.json
    assert problem["type"].endswith("/completion-conflict") and problem["credential_id"] == cred_id
    assert problem["changed"] == ["grade"] and "duplicate" not in problem
    assert f"/api/v1/credentials/{cred_id}:reissue" in problem["detail"]
    items = [example_completion(learner={"id": "new-1"}), example_completion(grade={"score": 12, "max": 100}),
             example_completion()]
    batch = car.signed("POST", BATCH, {"completions": items}, key=key).json
    assert batch["accepted"] == 1 and batch["duplicates"] == 1 and batch["conflict_count"] == 1
    assert batch["conflicts"] == [{"index": 1, "id": cred_id, "status": "sealed", "changed": ["grade"],
                                   "status_url": f"http://sidecar.test/api/v1/credentials/{cred_id}"}]
    spec = car.client.get("/openapi.json").json["paths"]
    assert "409" in spec["/api/v1/completions"]["post"]["responses"]
    assert "post" in spec["/api/v1/credentials/{cred_id}:reissue"]


def test_single_and_batch_routes_behave_alike(held: tuple[Sidecar, str]) -> None:
    """One scenario (fail, resit, repeat, correction, seal, change, repeat) on two learners, one per route."""
    car, key = held
    steps = [dict(passed=False), dict(passed=False), dict(), dict(grade={"score": 80, "max": 100}), "seal",
             dict(grade={"score": 81, "max": 100}), dict(grade={"score": 80, "max": 100})]
    seen: dict[str, list[tuple[Any, ...]]] = {SINGLE: [], BATCH: []}
    for route, learner in ((SINGLE, "one"), (BATCH, "two")):
        cred_id = None
        for step in steps:
            if step == "seal":
                issue_many(car.rt.context, [cred_id])
                continue
            status, body = send(car, key, route, example_completion(learner={"id": learner}, **step))
            cred_id = body.get("id") or body.get("credential_id")
            seen[route].append((status, body["changed"]) if status == 409 else
                               (status, body["status"], body["duplicate"], body["replaced"]))
    assert seen[SINGLE] == seen[BATCH]
    assert [s[0] for s in seen[SINGLE]] == [202, 202, 202, 202, 409, 202]


def test_reissue_revokes_the_sealed_credential_and_issues_a_new_one(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    edx_key = sidecar.add_source("edx")
    sidecar.put_template()
    old_id = sidecar.signed("POST", SINGLE, example_completion(), key=key).json["id"]
    sidecar.drain()
    old = sidecar.admin("GET", f"/api/v1/credentials/{old_id}").json
    assert old["status"] == "delivered"
    old_sealed = sidecar.admin("GET", f"/api/v1/credentials/{old_id}/sealed").data
    corrected = example_completion(grade={"score": 97, "max": 100})
    path = f"/api/v1/credentials/{old_id}:reissue"
    # Only the credential's own source (or the admin); the completion must be this learner's, this course's.
    assert sidecar.signed("POST", path, {"completion": corrected}, source="edx", key=edx_key).status_code == 403
    other = sidecar.signed("POST", path, {"completion": example_completion(learner={"id": "99"})}, key=key)
    assert other.status_code == 422 and other.json["errors"][0]["field"] == "completion.learner.id"
    answer = sidecar.signed("POST", path, {"completion": corrected, "reason": "grade corrected after appeal"},
                            key=key)
    assert answer.status_code == 202, answer.json
    new = answer.json
    assert new["id"] != old_id and new["replaces"] == old_id and new["revoked"] is True
    sidecar.drain()
    assert sidecar.admin("GET", f"/api/v1/credentials/{new['id']}").json["status"] == "delivered"
    assert "97" in json.dumps(_payload(sidecar, new["id"]))
    old = sidecar.admin("GET", f"/api/v1/credentials/{old_id}").json
    assert old["status"] == "revoked" and old["reason"] == "grade corrected after appeal"
    assert old["replaced_by"] == new["id"]
    # Verifiers and the learner's page see the old one revoked; the new one is valid.
    report = sidecar.client.post("/api/v1/verify", data=old_sealed, content_type="application/ld+json").json
    assert report["sub_indication"] == "CREDENTIAL_REVOKED" and report["revocation"]["status"] == "revoked"
    fresh = sidecar.admin("GET", f"/api/v1/credentials/{new['id']}/sealed").data
    checked = sidecar.client.post("/api/v1/verify", data=fresh, content_type="application/ld+json").json
    assert checked["revocation"]["status"] == "not_revoked" and checked["seal"]["signature_intact"] is True
    with sidecar.rt.sessions() as session:
        from bridge.documents.store import ensure_page

        page_url = ensure_page(sidecar.rt.sessions, old_id).url("")
        audit = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "credential.reissue")))
    doc = lxml_html.fromstring(sidecar.client.get(page_url + "?lang=en").data)
    assert "verdict-revoked" in doc.xpath("//section[contains(@class, 'verdict-box')]/@class")[0]
    assert [(a.target_id, a.outcome, a.actor_kind, a.actor_name) for a in audit][-1] == (
        old_id, "ok", "api", "moodle-main")
    assert audit[-1].detail["new_credential"] == new["id"] and audit[-1].detail["revoked"] is True
    # The learner's current credential is the new one: the corrected completion is its duplicate, the
    # old completion a conflict naming the new id; the old one cannot be re-issued twice.
    repeat = sidecar.signed("POST", SINGLE, corrected, key=key)
    assert repeat.status_code == 202 and repeat.json["id"] == new["id"] and repeat.json["duplicate"] is True
    # A nonce: the same body as the first post, possibly within the same second, is not a replay.
    stale = sidecar.signed("POST", SINGLE, example_completion(), key=key, nonce="stale-resend-of-the-first")
    assert stale.status_code == 409 and stale.json["credential_id"] == new["id"]
    twice = sidecar.signed("POST", path, {}, key=key)
    assert twice.status_code == 409 and new["id"] in twice.json["detail"]
    # Re-issuing the new one with the stored completion (after a template fix, say): admin token, no body.
    third = sidecar.admin("POST", f"/api/v1/credentials/{new['id']}:reissue")
    assert third.status_code == 202 and third.json["replaces"] == new["id"]
    with sidecar.rt.sessions() as session:
        rows = {r.id: r for r in session.scalars(select(Credential))}
        assert (rows[old_id].superseded, rows[new["id"]].superseded, rows[third.json["id"]].superseded) == (1, 2, 0)
        assert rows[new["id"]].status == "revoked" and rows[new["id"]].replaced_by == third.json["id"]
    sidecar.drain()


def test_reissue_of_a_credential_not_sealed_keeps_its_id(held: tuple[Sidecar, str]) -> None:
    car, key = held
    cred_id = send(car, key, SINGLE, example_completion(passed=False))[1]["id"]
    answer = car.signed("POST", f"/api/v1/credentials/{cred_id}:reissue",
                        {"completion": example_completion(grade={"score": 70, "max": 100})}, key=key)
    assert answer.status_code == 202 and answer.json["id"] == cred_id and answer.json["revoked"] is False
    assert answer.json["status"] == "received" and car.rt.dispatcher.issued[-1] == cred_id
    missing = car.admin("POST", "/api/v1/credentials/00000000-0000-4000-8000-000000000000:reissue")
    assert missing.status_code == 404


def test_a_row_stored_in_an_older_form_is_not_taken_for_a_change(held: tuple[Sidecar, str]) -> None:
    """Completions stored before every optional key was kept (None) still compare equal to a resend."""
    car, key = held
    cred_id = send(car, key, SINGLE, example_completion())[1]["id"]
    issue_many(car.rt.context, [cred_id])
    with car.rt.sessions() as session:
        row = session.get(Credential, cred_id)
        legacy = json.loads(json.dumps(row.completion))
        legacy["grade"].pop("language")  # None in today's form: an older version left it out
        legacy["completed_at"] = "2026-11-20T10:00:00+00:00"
        row.completion = legacy
        session.commit()
    status, body = send(car, key, SINGLE, example_completion())
    assert status == 202 and body["duplicate"] is True
