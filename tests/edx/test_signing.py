"""The XBlock's own signer against the shared vectors (tests/moodle/signing_vector.json)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edx_xblock.signing import hmac_key, signature, signed_headers

VECTORS = json.loads((Path(__file__).parents[1] / "moodle" / "signing_vector.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS["vectors"],
                         ids=lambda v: f"{v['method']} {v['path']}" + (" nonce" if v.get("nonce") else ""))
def test_shared_vector(vector: dict) -> None:
    assert hmac_key(vector["api_key"]) == vector["hmac_key"]
    body = vector["body"].encode("utf-8")
    nonce = vector.get("nonce")
    assert signature(vector["api_key"], vector["method"], vector["path"], vector["timestamp"], body, nonce) == \
        vector["signature"]
    headers = signed_headers("moodle-main", vector["api_key"], vector["method"], vector["path"], body,
                             timestamp=vector["timestamp"], nonce=nonce or "")
    expected = {"X-EDC-Source": "moodle-main", "X-EDC-Timestamp": str(vector["timestamp"]),
                "X-EDC-Signature": vector["signature"]}
    if nonce:
        expected["X-EDC-Nonce"] = nonce
    assert headers == expected


def test_the_nonce_vector_is_signed_with_its_nonce() -> None:
    with_nonce = [v for v in VECTORS["vectors"] if v.get("nonce")]
    assert with_nonce
    for v in with_nonce:
        assert signature(v["api_key"], v["method"], v["path"], v["timestamp"], v["body"].encode()) != v["signature"]


def test_a_fresh_nonce_by_default() -> None:
    from bridge.auth import compute_signature, hash_api_key

    first = signed_headers("s", "k", "GET", "/api/v1/credentials?a=1", timestamp=100)
    second = signed_headers("s", "k", "GET", "/api/v1/credentials?a=1", timestamp=100)
    assert first["X-EDC-Nonce"] != second["X-EDC-Nonce"]
    assert first["X-EDC-Signature"] != second["X-EDC-Signature"]
    for headers in (first, second):
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", headers["X-EDC-Nonce"])
        # The sidecar's verifier agrees with the signature over the nonce it received.
        assert headers["X-EDC-Signature"] == "v1=" + compute_signature(
            hash_api_key("k"), "GET", "/api/v1/credentials?a=1", "100", b"", headers["X-EDC-Nonce"])
    assert "X-EDC-Nonce" not in signed_headers("s", "k", "GET", "/x", timestamp=100, nonce="")


def test_any_change_changes_the_signature() -> None:
    base = signature("k", "GET", "/api/v1/credentials?a=1", 100, b"")
    assert base != signature("k", "GET", "/api/v1/credentials?a=2", 100, b"")
    assert base != signature("k", "GET", "/api/v1/credentials?a=1", 101, b"")
    assert base != signature("k2", "GET", "/api/v1/credentials?a=1", 100, b"")
    assert base != signature("k", "GET", "/api/v1/credentials?a=1", 100, b"x")
    assert base != signature("k", "GET", "/api/v1/credentials?a=1", 100, b"", "n" * 16)
    assert signature("k", "GET", "/x", 100, b"", "n" * 16) != signature("k", "GET", "/x", 100, b"", "m" * 16)
