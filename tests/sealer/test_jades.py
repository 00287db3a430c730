"""JAdES sealing: EDC's exact structure, round trips per algorithm, jwcrypto cross-check, baseline T."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from jwcrypto import jwk, jws

from sealer import timestamps
from sealer.certificates import IssuerSerial, summarise
from sealer.jades import SealingError, dumps, seal_jades
from sealer.jose import b64url_decode
from sealer.keys import Pkcs12KeySource, UnsupportedAlgorithm
from sealer.validation import validate_seal
from tests.reference import ELM_EXAMPLES
from tests.sealer.checks import intact

EDC_SAMPLE = ELM_EXAMPLES / "elm-v3" / "Sample-CertOfPart-signed.jsonld"
UNSIGNED = ELM_EXAMPLES / "elm-v3" / "Sample-CertOfPart-unsigned.jsonld"


@pytest.fixture(params=["RSA", "EC"])
def key(request, keys) -> Pkcs12KeySource:
    return keys[request.param]


@pytest.fixture(scope="module")
def rsa_key(keys) -> Pkcs12KeySource:
    return keys["RSA"]


PAIRS = [("RSA", "RS256"), ("RSA", "PS256"), ("EC", "ES256")]


def _header(jws_obj: dict) -> dict:
    return json.loads(b64url_decode(jws_obj["signatures"][0]["protected"], "protected"))


def _payload() -> bytes:
    return UNSIGNED.read_bytes()


def test_structure_matches_edc(rsa_key) -> None:
    when = dt.datetime(2026, 11, 20, 10, 0, 5, 123456, tzinfo=dt.UTC)
    sealed = seal_jades(_payload(), rsa_key, signing_time=when)
    assert list(sealed) == ["payload", "signatures"]
    assert sealed["payload"].encode("utf-8") == _payload()
    entry = sealed["signatures"][0]
    assert list(entry) == ["protected", "signature"]  # baseline B: no unprotected header at all
    header = _header(sealed)
    edc_header = _header(json.loads(EDC_SAMPLE.read_text()))
    assert list(header) == [k for k in edc_header if k != "adoTst"]
    assert header["alg"] == "RS256"
    assert (header["typ"], header["cty"], header["b64"]) == (edc_header["typ"], edc_header["cty"], False)
    assert header["sigT"] == "2026-11-20T10:00:05Z"
    assert header["crit"] == ["b64", "sigT"]
    leaf_der = base64.b64decode(header["x5c"][0], validate=True)
    assert x509.load_der_x509_certificate(leaf_der) == rsa_key.certificate
    expected_x5t = base64.urlsafe_b64encode(hashlib.sha256(leaf_der).digest()).rstrip(b"=").decode()
    assert header["x5t#S256"] == expected_x5t
    kid = IssuerSerial.load(base64.b64decode(header["kid"], validate=True))
    leaf = asn1_x509.Certificate.load(leaf_der)
    assert kid["issuer"][0].chosen == leaf.issuer
    assert kid["serial_number"].native == leaf.serial_number
    assert "=" not in entry["protected"] + entry["signature"]
    # The file form is compact JSON whose payload member is the credential text itself.
    assert json.loads(dumps(sealed))["payload"] == _payload().decode("utf-8")


def test_kid_can_be_left_out(rsa_key) -> None:
    sealed = seal_jades(b'{"a":1}', rsa_key, kid=False)
    assert "kid" not in _header(sealed)
    assert intact(sealed)


@pytest.mark.parametrize(("key_type", "alg"), PAIRS)
def test_round_trip(keys, key_type: str, alg: str) -> None:
    key = keys[key_type]
    sealed = seal_jades(_payload(), key, alg=alg)
    report = validate_seal(dumps(sealed))
    assert report.signature_intact and report.errors == [], report.errors
    assert report.signature_intact
    assert report.algorithm == alg
    assert report.level == "B-B"
    assert report.payload == _payload()
    assert summarise(report.findings.certificate).organization_identifier == "VATFR-00000000000"
    assert report.timestamps == []
    assert report.chain_trusted is None
    assert report.verdict == "indeterminate" and report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"


def test_default_algorithm_follows_key_type(key) -> None:
    assert _header(seal_jades(b"{}", key))["alg"] == ("RS256" if key.key_type == "RSA" else "ES256")


@pytest.mark.parametrize(("key_type", "alg"), PAIRS)
def test_jwcrypto_verifies_our_seal(keys, key_type: str, alg: str) -> None:
    """A second, independent JOSE implementation (RFC 7797 aware) accepts the seal."""
    key = keys[key_type]
    sealed = seal_jades(_payload(), key, alg=alg)
    registry = {"sigT": jws.JWSEHeaderParameter("Claimed signing time", True, True, None)}
    checker = jws.JWS(header_registry=registry)
    checker.deserialize(dumps(sealed).decode("utf-8"))
    checker.verify(jwk.JWK.from_pyca(key.certificate.public_key()))
    assert checker.payload == _payload().decode("utf-8")  # jwcrypto gives b64=false payloads as text
    # and it rejects a changed payload
    tampered = dict(sealed, payload=sealed["payload"].replace("Certificate", "Certificatf", 1))
    other = jws.JWS(header_registry=registry)
    other.deserialize(dumps(tampered).decode("utf-8"))
    with pytest.raises(jws.InvalidJWSSignature):
        other.verify(jwk.JWK.from_pyca(key.certificate.public_key()))


def test_baseline_t_with_loopback_tsa(key, loopback) -> None:
    sealed = seal_jades(_payload(), key, tsa_url=loopback.url)
    header = _header(sealed)
    assert header["crit"] == ["b64", "sigT", "adoTst"]
    assert list(header)[-2:] == ["adoTst", "crit"]
    content_token = timestamps.verify_token(base64.b64decode(header["adoTst"]["tstTokens"][0]["val"]), _payload())
    entry = sealed["signatures"][0]
    assert list(entry) == ["protected", "header", "signature"]
    etsi_u = entry["header"]["etsiU"]
    assert len(etsi_u) == 1
    sig_tst = json.loads(b64url_decode(etsi_u[0], "etsiU"))["sigTst"]["tstTokens"][0]["val"]
    token = timestamps.verify_token(base64.b64decode(sig_tst), entry["signature"].encode("ascii"))
    assert content_token.gen_time <= token.gen_time
    assert loopback.requests_seen == 2

    registry = {name: jws.JWSEHeaderParameter(name, True, True, None) for name in ("sigT", "adoTst")}
    checker = jws.JWS(header_registry=registry)
    checker.deserialize(dumps(sealed).decode("utf-8"))
    checker.verify(jwk.JWK.from_pyca(key.certificate.public_key()))  # etsiU does not disturb JOSE

    report = validate_seal(dumps(sealed))
    assert report.signature_intact and report.errors == [], report.errors
    assert report.level == "B-T"
    assert report.timestamps[-1].time == token.gen_time
    assert report.timestamps[-1].tsa == "CN=Loopback Test TSA,C=LU"


def test_baseline_t_without_content_timestamp(rsa_key, loopback) -> None:
    sealed = seal_jades(b'{"x": 1}', rsa_key, tsa_url=loopback.url, content_timestamp=False)
    assert _header(sealed)["crit"] == ["b64", "sigT"]
    assert loopback.requests_seen == 1
    assert validate_seal(sealed).level == "B-T"


def test_tsa_failure_produces_no_seal(rsa_key, loopback) -> None:
    loopback.mode = "reject"
    with pytest.raises(SealingError, match="timestamp failed: .*refused"):
        seal_jades(b"{}", rsa_key, tsa_url=loopback.url)


def test_wrong_algorithm_is_refused_before_the_tsa_is_asked(key, loopback) -> None:
    wrong = "RS256" if key.key_type == "EC" else "ES256"
    with pytest.raises(UnsupportedAlgorithm):
        seal_jades(b"{}", key, alg=wrong, tsa_url=loopback.url)
    assert loopback.requests_seen == 0


@pytest.mark.parametrize(
    ("payload", "kwargs", "message"),
    [
        (b"\xff\xfe{}", {}, "not valid UTF-8"),
        ("{}", {}, "payload must be bytes"),
        (b"{}", {"signing_time": dt.datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001
    ],
)
def test_bad_input_is_named(rsa_key, payload, kwargs, message: str) -> None:
    with pytest.raises(SealingError, match=message):
        seal_jades(payload, rsa_key, **kwargs)


def test_non_ascii_payload_round_trips(rsa_key) -> None:
    payload = json.dumps({"title": {"fr": "Analyse de données", "el": "Ανάλυση"}}, ensure_ascii=False)
    sealed = json.loads(dumps(seal_jades(payload.encode("utf-8"), rsa_key)))
    assert validate_seal(sealed).payload == payload.encode("utf-8")


def test_chain_in_x5c_is_leaf_first(rsa_key) -> None:
    header = _header(seal_jades(b"{}", rsa_key))
    certs = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    assert certs[0].public_bytes(Encoding.DER) == rsa_key.certificate.public_bytes(Encoding.DER)
    assert certs == rsa_key.chain
