"""No malformed input reaches a 500: every endpoint answers 4xx problem+json and writes nothing."""
from __future__ import annotations

import json

import pytest

from .conftest import ADMIN, Sidecar, example_completion, example_template

WEIRD_BODIES: list[bytes] = [
    b"", b"null", b"[]", b"0", b'"text"', b"{", b'{"a": }', b"\xff\xfe\x00", b'{"ects": Infinity}',
    json.dumps({"learner": []}).encode(), json.dumps({"completions": [None, 1, "x"]}).encode(),
    json.dumps({**example_completion(), "learner": {"id": {"$gt": ""}}}).encode(),
    json.dumps({**example_completion(), "passed": None, "grade": {"score": -1, "max": 0}}).encode(),
    json.dumps({**example_completion(), "completed_at": "yesterday", "course_id": "\u0000"}).encode(),
    json.dumps({**example_template(), "learning_outcomes": "none", "policy": []}).encode(),
    json.dumps({**example_template(), "title": {"xx-invalid": 5}, "ects": 1e308}).encode(),
    json.dumps({"channels": "email", "reason": ["x"]}).encode(),
]

ENDPOINTS = [
    ("POST", "/api/v1/completions"),
    ("POST", "/api/v1/completions:batch"),
    ("PUT", "/api/v1/sources/moodle-main/courses/42/template"),
    ("PUT", "/api/v1/sources/moodle-main/courses/%00/template"),
    ("POST", "/api/v1/credentials/{id}:resend"),
    ("POST", "/api/v1/credentials/{id}:revoke"),
    ("GET", "/api/v1/credentials?page=-1&per_page=x"),
    ("GET", "/api/v1/batches/%2e%2e"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_weird_bodies_never_fail_the_server(sidecar: Sidecar, method: str, path: str) -> None:
    sidecar.add_source()
    sidecar.put_template()
    cred_id = sidecar.admin("POST", "/api/v1/completions", example_completion(passed=False)).json["id"]
    before = sidecar.count()
    template_version = sidecar.admin("GET", "/api/v1/sources/moodle-main/courses/42/template").json["version"]
    for body in WEIRD_BODIES:
        for content_type in ("application/json", "text/plain"):
            response = sidecar.client.open(path.format(id=cred_id), method=method, data=body,
                                           content_type=content_type,
                                           headers={"Authorization": f"Bearer {ADMIN}"})
            assert response.status_code < 500, (body, response.get_data(as_text=True))
            if response.status_code >= 400:
                assert response.mimetype == "application/problem+json"
                assert response.json["title"] and response.json["status"] == response.status_code
    assert sidecar.count() == before
    status = sidecar.admin("GET", f"/api/v1/credentials/{cred_id}").json
    assert status["status"] in ("skipped", "revoked")  # revoke with an empty body is valid
    assert sidecar.admin("GET", "/api/v1/sources/moodle-main/courses/42/template").json["version"] == \
        template_version
