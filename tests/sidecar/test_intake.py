"""Completion intake: validation as problem+json, size limits, idempotency, course policy."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from .conftest import Sidecar, example_completion, make_sidecar

PATH = "/api/v1/completions"


def _post(sidecar: Sidecar, body: object) -> object:
    return sidecar.admin("POST", PATH, body)


def test_malformed_json_is_400_and_nothing_is_written(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    response = sidecar.signed("POST", PATH, key=key, raw=b'{"source": "moodle-main", ')
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "not valid JSON" in response.json["detail"]
    response = sidecar.signed("POST", PATH, key=key, raw=b"\xff\xfe")
    assert response.status_code == 400
    assert sidecar.count() == 0


def test_wrong_types_name_each_field(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template()
    bad = example_completion(passed="yes", learner={"email": "not-an-address"}, grade={"score": "high"})
    response = _post(sidecar, bad)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"passed", "learner.email", "grade.score"} <= fields
    for body in ([], "text", 17, None):
        response = sidecar.client.post(PATH, data=json.dumps(body), content_type="application/json",
                                       headers={"Authorization": "Bearer test-admin-token-0123456789"})
        assert response.status_code in (400, 422), body
        assert response.mimetype == "application/problem+json"
    assert sidecar.count() == 0


def test_deeply_nested_json_is_a_client_error(sidecar: Sidecar) -> None:
    sidecar.add_source()
    nested = b"[" * 100_000 + b"]" * 100_000
    response = sidecar.client.post(PATH, data=nested, content_type="application/json",
                                   headers={"Authorization": "Bearer test-admin-token-0123456789"})
    assert response.status_code == 400


def test_oversized_body_is_413(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> None:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_MAX_BODY_BYTES="8192")
    key = car.add_source()
    car.put_template()
    big = example_completion(learner={"given_name": "x" * 9000})
    response = car.signed("POST", PATH, big, key=key)
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    assert car.count() == 0


def test_completion_for_course_without_template_is_refused(sidecar: Sidecar) -> None:
    sidecar.add_source()
    response = _post(sidecar, example_completion(course_id="nope"))
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "course_id"
    assert sidecar.count() == 0


def test_same_learner_twice_yields_the_same_credential(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    first = sidecar.signed("POST", PATH, example_completion(), key=key)
    assert first.status_code == 202
    assert first.json["duplicate"] is False
    assert first.json["status_url"] == f"http://sidecar.test/api/v1/credentials/{first.json['id']}"
    again = sidecar.signed("POST", PATH, example_completion(), key=key, timestamp=int(time.time()) + 1)
    assert again.status_code == 202
    assert again.json["id"] == first.json["id"]
    assert again.json["duplicate"] is True and again.json["replaced"] is False
    other = sidecar.signed("POST", PATH, example_completion(learner={"id": "18"}), key=key)
    assert other.json["id"] != first.json["id"]
    assert sidecar.count() == 2


def test_concurrent_duplicates_yield_one_credential(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template()
    ids: list[str] = []
    errors: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def post() -> None:
        client = sidecar.app.test_client()
        start.wait()
        response = client.post(PATH, json=example_completion(),
                               headers={"Authorization": "Bearer test-admin-token-0123456789"})
        with lock:
            if response.status_code == 202:
                ids.append(response.json["id"])
            else:
                errors.append(response.status_code)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(ids) == 6 and len(set(ids)) == 1
    assert sidecar.count() == 1


def test_policy_skips_failed_learners_until_they_pass(sidecar: Sidecar) -> None:
    sidecar.add_source()
    sidecar.put_template(policy={"issue_when": "passed", "min_grade": 60})
    failed = _post(sidecar, example_completion(passed=False))
    assert failed.status_code == 202
    assert failed.json["status"] == "skipped"
    assert "not passed" in failed.json["reason"]
    low = _post(sidecar, example_completion(learner={"id": "low"}, grade={"score": 55, "max": 100}))
    assert low.json["status"] == "skipped" and "minimum" in low.json["reason"]
    resit = _post(sidecar, example_completion(passed=True, grade={"score": 80, "max": 100}))
    assert resit.json["id"] == failed.json["id"]
    assert resit.json["status"] == "received"
    sidecar.drain()
    status = sidecar.admin("GET", f"/api/v1/credentials/{failed.json['id']}").json
    assert status["status"] == "delivered"
    assert sidecar.count(status="skipped") == 1


def test_invalid_policy_is_refused(sidecar: Sidecar) -> None:
    sidecar.add_source()
    from .conftest import example_template

    template = example_template()
    template["policy"] = {"issue_when": "sometimes", "channels": ["fax"], "min_grade": 140}
    response = sidecar.admin("PUT", "/api/v1/sources/moodle-main/courses/42/template", template)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json["errors"]}
    assert {"policy.issue_when", "policy.channels[0]", "policy.min_grade"} <= fields
