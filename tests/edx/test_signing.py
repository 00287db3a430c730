"""The XBlock's own signer against the shared vectors (tests/moodle/signing_vector.json)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from edx_xblock.signing import hmac_key, signature, signed_headers

VECTORS = json.loads((Path(__file__).parents[1] / "moodle" / "signing_vector.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: f"{v['method']} {v['path']}")
def test_shared_vector(vector: dict) -> None:
    assert hmac_key(vector["api_key"]) == vector["hmac_key"]
    body = vector["body"].encode("utf-8")
    assert signature(vector["api_key"], vector["method"], vector["path"], vector["timestamp"], body) == \
        vector["signature"]
    headers = signed_headers("moodle-main", vector["api_key"], vector["method"], vector["path"], body,
                             timestamp=vector["timestamp"])
    assert headers == {"X-EDC-Source": "moodle-main", "X-EDC-Timestamp": str(vector["timestamp"]),
                       "X-EDC-Signature": vector["signature"]}


def test_any_change_changes_the_signature() -> None:
    base = signature("k", "GET", "/api/v1/credentials?a=1", 100, b"")
    assert base != signature("k", "GET", "/api/v1/credentials?a=2", 100, b"")
    assert base != signature("k", "GET", "/api/v1/credentials?a=1", 101, b"")
    assert base != signature("k2", "GET", "/api/v1/credentials?a=1", 100, b"")
    assert base != signature("k", "GET", "/api/v1/credentials?a=1", 100, b"x")
