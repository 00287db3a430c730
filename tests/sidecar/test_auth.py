"""Authentication: HMAC-signed sources and the admin token, with clear, secret-free refusals."""
from __future__ import annotations

import json
import time

from bridge import auth

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
    forged = _problem(sidecar.signed("POST", PATH, example_completion(), key="not-the-key"), 401)
    # The same answer for an unknown source and a wrong key: source names cannot be listed this way.
    assert unknown == forged and "does not match" in unknown["detail"]
    for header, value in (("X-EDC-Timestamp", "1²³4567890"), ("X-EDC-Timestamp", "١٧٠٠٠٠٠٠٠٠"),
                          ("X-EDC-Timestamp", "1700000000\n"), ("X-EDC-Signature", "v1=" + "0" * 64 + "\n")):
        headers = {"X-EDC-Source": "moodle-main", "X-EDC-Timestamp": str(int(time.time())),
                   "X-EDC-Signature": "v1=" + "0" * 64}
        del headers[header]
        environ = {f"HTTP_{header.upper().replace('-', '_')}": value}  # werkzeug refuses to send it otherwise
        response = sidecar.client.post(PATH, json=example_completion(), headers=headers, environ_overrides=environ)
        assert header in _problem(response, 401)["detail"], (header, value)
    response = sidecar.client.post(PATH, json=example_completion(), headers={
        "X-EDC-Source": "moodle-main", "X-EDC-Timestamp": "soon", "X-EDC-Signature": "v1=00"})
    assert "X-EDC-Timestamp" in _problem(response, 401)["detail"]
    response = sidecar.client.post(PATH, json=example_completion(), headers={
        "X-EDC-Source": "moodle-main", "X-EDC-Timestamp": str(int(time.time())), "X-EDC-Signature": "abc"})
    assert "64 hexadecimal" in _problem(response, 401)["detail"]


def test_the_key_unknown_sources_are_checked_against_opens_nothing(sidecar: Sidecar) -> None:
    """Unknown sources and unrotated keys are compared with a stand-in key (same work, same time); a
    request signed with that key is refused like any other wrong signature."""
    sidecar.add_source()
    sidecar.put_template()
    body = json.dumps(example_completion()).encode()
    ts = str(int(time.time()))
    for source in ("moodle-main", "no-such-source"):
        signature = auth.compute_signature(auth._UNKNOWN_SOURCE_KEY, "POST", PATH, ts, body)
        response = sidecar.client.post(PATH, data=body, headers={
            "X-EDC-Source": source, "X-EDC-Timestamp": ts, "X-EDC-Signature": f"v1={signature}",
            "Content-Type": "application/json"})
        assert "does not match" in _problem(response, 401)["detail"]
    assert sidecar.count() == 0


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


# --- X-EDC-Nonce: an optional fifth line of the signed message -------------------------------------

def _post_with_nonce(sidecar: Sidecar, key: str, timestamp: int, nonce: str | None,
                     completion: dict | None = None, **extra: str):
    import json

    from bridge.auth import signature_headers

    body = json.dumps(completion or example_completion()).encode()
    headers = signature_headers("moodle-main", key, "POST", PATH, body, timestamp=timestamp, nonce=nonce)
    return sidecar.client.post(PATH, data=body, headers={**headers, **extra, "Content-Type": "application/json"})


def test_shared_signing_vectors_with_and_without_nonce() -> None:
    import json
    from pathlib import Path

    from bridge.auth import compute_signature, hash_api_key, signature_headers

    vectors = json.loads((Path(__file__).parents[1] / "moodle" / "signing_vector.json").read_text())["vectors"]
    assert sum(1 for v in vectors if v.get("nonce")) >= 1 and sum(1 for v in vectors if not v.get("nonce")) >= 1
    for v in vectors:
        body, nonce = v["body"].encode(), v.get("nonce")
        assert hash_api_key(v["api_key"]) == v["hmac_key"]
        assert "v1=" + compute_signature(v["hmac_key"], v["method"], v["path"], str(v["timestamp"]), body,
                                         nonce) == v["signature"]
        headers = signature_headers("moodle-main", v["api_key"], v["method"], v["path"], body,
                                    timestamp=v["timestamp"], nonce=nonce)
        assert headers["X-EDC-Signature"] == v["signature"] and headers.get("X-EDC-Nonce") == nonce
        if nonce:  # the nonce is signed: leaving it out gives another signature
            assert "v1=" + compute_signature(v["hmac_key"], v["method"], v["path"], str(v["timestamp"]),
                                             body) != v["signature"]


def test_identical_requests_in_one_second_with_distinct_nonces_are_both_accepted(sidecar: Sidecar) -> None:
    import secrets

    key = sidecar.add_source()
    sidecar.put_template()
    ts = int(time.time())
    first = _post_with_nonce(sidecar, key, ts, secrets.token_urlsafe(16))
    second = _post_with_nonce(sidecar, key, ts, secrets.token_urlsafe(16))
    assert first.status_code == 202 and first.json["duplicate"] is False
    assert second.status_code == 202, second.get_data(as_text=True)
    assert second.json["duplicate"] is True and second.json["id"] == first.json["id"]
    assert sidecar.count() == 1
    # Two identical status polls in the same second, too.
    from bridge.auth import signature_headers

    path = f"/api/v1/credentials/{first.json['id']}"
    polls = [sidecar.client.get(path, headers=signature_headers("moodle-main", key, "GET", path, timestamp=ts,
                                                                nonce=secrets.token_urlsafe(16)))
             for _ in range(2)]
    assert [p.status_code for p in polls] == [200, 200]


def test_same_nonce_twice_is_a_replay(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    ts, nonce = int(time.time()), "Zq3xK9-fW2_aLm7BvT0nQe"
    assert _post_with_nonce(sidecar, key, ts, nonce).status_code == 202
    replay = _problem(_post_with_nonce(sidecar, key, ts, nonce), 401)
    assert "already used" in replay["detail"]
    assert sidecar.count() == 1


def test_malformed_nonce_is_refused_naming_the_header(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    ts = int(time.time())
    for nonce in ("a" * 15, "a" * 65, "abcdefghijklmnop+", "abcdefghijklmnop=", "abcdefgh.ijklmnop",
                  "abcdéfghijklmnopq", "abcdefgh ijklmnop", ""):
        response = _post_with_nonce(sidecar, key, ts, None, **{"X-EDC-Nonce": nonce})
        body = _problem(response, 401)
        assert "X-EDC-Nonce" in body["detail"], nonce
        assert response.headers["WWW-Authenticate"].startswith("EDC-HMAC")
    # The bounds themselves are fine (each nonce signed, each request a distinct signature).
    for nonce in ("a" * 16, "Z-_9" * 16):
        assert _post_with_nonce(sidecar, key, ts, nonce).status_code == 202, nonce
    assert sidecar.count() == 1


def test_request_signed_without_nonce_still_works(sidecar: Sidecar) -> None:
    key = sidecar.add_source()
    sidecar.put_template()
    response = _post_with_nonce(sidecar, key, int(time.time()), None)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert sidecar.count() == 1


def test_nonce_must_be_signed_and_must_be_sent(sidecar: Sidecar) -> None:
    import json

    from bridge.auth import signature_headers

    key = sidecar.add_source()
    sidecar.put_template()
    ts = int(time.time())
    # Signed without a nonce, sent with one: the verifier signs the five-line message and disagrees.
    added = _problem(_post_with_nonce(sidecar, key, ts, None, **{"X-EDC-Nonce": "Zq3xK9-fW2_aLm7BvT0nQe"}), 401)
    assert "does not match" in added["detail"] and "X-EDC-Nonce" in added["detail"]
    # Signed with a nonce, sent without it (or with another one): refused as well.
    body = json.dumps(example_completion()).encode()
    headers = signature_headers("moodle-main", key, "POST", PATH, body, timestamp=ts, nonce="Zq3xK9-fW2_aLm7BvT0nQe")
    stripped = {k: v for k, v in headers.items() if k != "X-EDC-Nonce"}
    _problem(sidecar.client.post(PATH, data=body, headers={**stripped, "Content-Type": "application/json"}), 401)
    swapped = {**headers, "X-EDC-Nonce": "another-nonce-0123456789"}
    _problem(sidecar.client.post(PATH, data=body, headers={**swapped, "Content-Type": "application/json"}), 401)
    assert sidecar.count() == 0
