"""Authentication: HMAC-signed sources and the admin token, with clear, secret-free refusals."""
from __future__ import annotations

import time

from .conftest import ADMIN, Sidecar, example_completion

PATH = "/api/v1/completions"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.json


def test_missing_authentication_is_401_with_instructions(sidecar: Sidecar) -> None:
    body = _problem(sidecar.client.post(PATH, json=example_completion()), 401)
    assert "X-EDC-Signature" in body["detail"]
    assert sidecar.count() == 0


def test_valid_signature_is_accepted(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    response = sidecar.signed("POST", PATH, example_completion(), key=key)
    assert response.status_code == 202
    assert sidecar.count() == 1


def test_wrong_key_is_refused_without_revealing_secrets(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    response = sidecar.signed("POST", PATH, example_completion(), key=key + "x")
    body = _problem(response, 401)
    assert "does not match" in body["detail"]
    text = response.get_data(as_text=True)
    from bridge.auth import hash_api_key

    assert key not in text and hash_api_key(key) not in text
    assert sidecar.count() == 0


def test_body_tampering_breaks_the_signature(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    import json

    from bridge.auth import signature_headers

    signed_body = json.dumps(example_completion()).encode()
    headers = signature_headers("moodle-main", key, "POST", PATH, signed_body)
    other = json.dumps(example_completion(learner={"id": "99"})).encode()
    response = sidecar.client.post(PATH, data=other, headers={**headers, "Content-Type": "application/json"})
    _problem(response, 401)
    assert sidecar.count() == 0


def test_expired_and_future_timestamps_are_refused(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    old = _problem(sidecar.signed("POST", PATH, example_completion(), key=key,
                                  timestamp=int(time.time()) - 3600), 401)
    assert "behind" in old["detail"] and "300" in old["detail"]
    future = _problem(sidecar.signed("POST", PATH, example_completion(), key=key,
                                     timestamp=int(time.time()) + 3600), 401)
    assert "ahead" in future["detail"]


def test_replayed_signature_is_refused(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    ts = int(time.time())
    first = sidecar.signed("POST", PATH, example_completion(), key=key, timestamp=ts)
    assert first.status_code == 202
    replay = _problem(sidecar.signed("POST", PATH, example_completion(), key=key, timestamp=ts), 401)
    assert "already used" in replay["detail"]


def test_unknown_source_and_malformed_headers(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    unknown = _problem(sidecar.signed("POST", PATH, example_completion(), key=key, source="other"), 401)
    assert "not registered" in unknown["detail"]
    response = sidecar.client.post(PATH, json=example_completion(), headers={
        "X-EDC-Source": "moodle-main", "X-EDC-Timestamp": "soon", "X-EDC-Signature": "v1=00"})
    assert "X-EDC-Timestamp" in _problem(response, 401)["detail"]
    response = sidecar.client.post(PATH, json=example_completion(), headers={
        "X-EDC-Source": "moodle-main", "X-EDC-Timestamp": str(int(time.time())), "X-EDC-Signature": "abc"})
    assert "64 hexadecimal" in _problem(response, 401)["detail"]


def test_source_cannot_act_for_another_source(sidecar: Sidecar) -> None:
    key = sidecar.add_source("moodle-main")
    sidecar.add_source("edx")
    sidecar.put_template(source="edx")
    response = sidecar.signed("POST", PATH, example_completion(source="edx"), key=key)
    assert "edx" in _problem(response, 403)["detail"]
    response = sidecar.signed("GET", "/api/v1/sources/edx/courses/42/template", key=key)
    _problem(response, 403)
    assert sidecar.count() == 0


def test_admin_token_checks(sidecar: Sidecar, tmp_path, db_url, dev_seal_p12) -> None:
    bad = sidecar.client.get("/api/v1/credentials", headers={"Authorization": "Bearer nope"})
    assert "not valid" in _problem(bad, 401)["detail"]
    assert ADMIN not in bad.get_data(as_text=True)
    basic = sidecar.client.get("/api/v1/credentials", headers={"Authorization": "Basic abc"})
    _problem(basic, 401)
    key = sidecar.add_source()
    signed_list = sidecar.signed("POST", "/api/v1/credentials/x:revoke", key=key)
    assert "admin token" in _problem(signed_list, 403)["detail"]

    from .conftest import make_sidecar

    no_admin = make_sidecar(tmp_path / "b", db_url, dev_seal_p12, EDC_ADMIN_TOKEN="")
    disabled = no_admin.client.get("/api/v1/credentials", headers={"Authorization": "Bearer x"})
    assert "EDC_ADMIN_TOKEN" in _problem(disabled, 403)["detail"]


def test_query_string_is_part_of_the_signature(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    ok = sidecar.signed("GET", "/api/v1/credentials?status=sealed", key=key)
    assert ok.status_code == 200
    from bridge.auth import signature_headers

    headers = signature_headers("moodle-main", key, "GET", "/api/v1/credentials")
    tampered = sidecar.client.get("/api/v1/credentials?status=revoked", headers=headers)
    _problem(tampered, 401)
