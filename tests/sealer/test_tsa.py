"""RFC 3161 client against the loopback TSA, and the TSA tokens inside EDC's own sealed samples."""
from __future__ import annotations

import base64
import hashlib
import json
import socket
from pathlib import Path

import pytest
from tsa_server import LoopbackTsa, make_tsa_identity, serve

from sealer import timestamps
from sealer.jose import b64url_decode
from tests.reference import ELM_EXAMPLES

EDC_SAMPLES = ELM_EXAMPLES
SAMPLES = [
    EDC_SAMPLES / "elm-v3/Sample-CertOfPart-signed.jsonld",
    EDC_SAMPLES / "edc-software/json_to_seal-signed-jades-baseline-lta.json",
]


@pytest.fixture(scope="module")
def identity():
    return make_tsa_identity()


@pytest.fixture
def loopback(identity):
    server_tsa = LoopbackTsa(*identity)
    server = serve(server_tsa)
    yield server_tsa
    server.shutdown()
    server.server_close()


def test_granted_token_is_verified_and_bound_to_the_data(loopback) -> None:
    token = timestamps.request_timestamp(loopback.url, b"signature value")
    assert token.imprint == hashlib.sha256(b"signature value").digest()
    assert token.tsa_name == "CN=Loopback Test TSA,C=LU"
    assert token.signer == loopback.certificate
    assert loopback.requests_seen == 1
    again = timestamps.verify_token(token.der, b"signature value")
    assert again.gen_time == token.gen_time
    with pytest.raises(timestamps.TimestampError, match="imprint does not match"):
        timestamps.verify_token(token.der, b"other data")


def test_ec_tsa_key_is_supported() -> None:
    server_tsa = LoopbackTsa(*make_tsa_identity(key_type="EC"))
    server = serve(server_tsa)
    try:
        token = timestamps.request_timestamp(server_tsa.url, b"x")
    finally:
        server.shutdown()
        server.server_close()
    assert token.signer.public_key().public_numbers() == server_tsa.key.public_key().public_numbers()


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("reject", "refused the timestamp request: rejection \\(unaccepted_policy - policy refuses\\)"),
        ("wrong_nonce", "different nonce"),
        ("wrong_imprint", "imprint does not match"),
        ("bad_signature", "signature is not valid"),
        ("http_500", "answered HTTP 500"),
        ("garbage", "not an RFC 3161 response"),
        ("wrong_content_type", "answered text/html"),
    ],
)
def test_failures_are_reported_clearly(loopback, mode: str, message: str) -> None:
    loopback.mode = mode
    with pytest.raises(timestamps.TimestampError, match=message):
        timestamps.request_timestamp(loopback.url, b"data")


def test_tsa_certificate_without_timestamping_usage_is_refused() -> None:
    server_tsa = LoopbackTsa(*make_tsa_identity(eku=False))
    server = serve(server_tsa)
    try:
        with pytest.raises(timestamps.TimestampError, match="timeStamping extended key usage"):
            timestamps.request_timestamp(server_tsa.url, b"data")
    finally:
        server.shutdown()
        server.server_close()


def test_credentials_in_the_tsa_url_never_appear_in_errors(loopback) -> None:
    loopback.mode = "http_500"
    url = loopback.url.replace("http://", "http://alice:s3cr3t-pw@")
    with pytest.raises(timestamps.TimestampError) as info:
        timestamps.request_timestamp(url, b"data")
    assert "s3cr3t-pw" not in str(info.value)
    assert "alice" not in str(info.value)


def test_unreachable_tsa() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(timestamps.TimestampError, match="could not be reached"):
        timestamps.request_timestamp(f"http://127.0.0.1:{port}/", b"data", timeout=5)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.name)
def test_edc_signature_timestamps_cover_the_base64url_signature(sample: Path) -> None:
    """ETSI TS 119 182-1: the sigTst imprint is over the base64url signature value, as EDC does it."""
    signature = json.loads(sample.read_text())["signatures"][0]
    entries = [json.loads(b64url_decode(e, "etsiU")) for e in signature["header"]["etsiU"]]
    sig_tst = next(e["sigTst"] for e in entries if "sigTst" in e)
    der = base64.b64decode(sig_tst["tstTokens"][0]["val"])
    token = timestamps.verify_token(der, signature["signature"].encode("ascii"))
    with pytest.raises(timestamps.TimestampError):
        timestamps.verify_token(der, b64url_decode(signature["signature"], "signature"))
    assert token.hash_algorithm == "sha256"
