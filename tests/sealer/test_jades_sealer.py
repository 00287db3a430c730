"""JadesSealer (bulk sealing): same JWS as the reference seal_jades, verified by the validator and by jwcrypto."""
from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from jwcrypto import jwk, jws

from sealer import timestamps
from sealer.jades import SealingError, dumps, seal_jades
from sealer.jades.bulk import JadesSealer
from sealer.jose import b64url_decode
from sealer.keys import Pkcs12KeySource, UnsupportedAlgorithm
from sealer.keys.devseal import create_dev_seal
from sealer.validation import validate_seal
from tests.reference import ELM_EXAMPLES

UNSIGNED = ELM_EXAMPLES / "elm-v3" / "Sample-CertOfPart-unsigned.jsonld"
AT = dt.datetime(2026, 11, 29, 1, 2, 3, 999_999, tzinfo=dt.UTC)
PAIRS = [("RSA", "RS256"), ("RSA", "PS256"), ("EC", "ES256")]
# Every character class JSON escaping treats specially, plus multi-byte UTF-8.
AWKWARD = '{"name":"Zoë \\"Q\\" \\\\ \\t\\n\\u0001 \u2028 😀 名"}'.encode()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Pkcs12KeySource]:
    """Development eSeals made around the pinned signing time, so no test here depends on today's date."""
    out = {}
    for key_type in ("RSA", "EC"):
        seal = create_dev_seal(tmp_path_factory.mktemp(key_type), key_type=key_type, now=AT)
        out[key_type] = Pkcs12KeySource(seal.pkcs12_path, seal.password)
    return out


def _escaped(payload: bytes) -> bytes:
    return json.dumps(payload.decode("utf-8"), ensure_ascii=False)[1:-1].encode("utf-8")


def _header(sealed: bytes) -> dict:
    return json.loads(b64url_decode(json.loads(sealed)["signatures"][0]["protected"], "protected"))


@pytest.mark.parametrize("payload", [UNSIGNED.read_bytes(), AWKWARD, b"{}"], ids=["edc-sample", "awkward", "empty"])
@pytest.mark.parametrize("kid", [True, False])
def test_rs256_bytes_equal_the_reference(keys, payload: bytes, kid: bool) -> None:
    """PKCS#1 v1.5 is deterministic, so with the same signing time the files must be identical."""
    reference = dumps(seal_jades(payload, keys["RSA"], signing_time=AT, kid=kid))
    sealer = JadesSealer(keys["RSA"], kid=kid)
    assert sealer.seal(payload, signing_time=AT) == reference
    assert sealer.seal(payload, escaped=_escaped(payload), signing_time=AT) == reference


@pytest.mark.parametrize(("key_type", "alg"), PAIRS)
def test_same_jws_as_the_reference_and_it_verifies(keys, key_type: str, alg: str) -> None:
    key = keys[key_type]
    payload = UNSIGNED.read_bytes()
    ours = JadesSealer(key, alg=alg).seal(payload, escaped=_escaped(payload), signing_time=AT)
    reference = dumps(seal_jades(payload, key, alg=alg, signing_time=AT))
    assert _header(ours) == _header(reference)
    assert list(_header(ours)) == list(_header(reference))  # EDC's member order
    mine, theirs = json.loads(ours), json.loads(reference)
    assert list(mine) == list(theirs) and list(mine["signatures"][0]) == list(theirs["signatures"][0])
    assert mine["payload"] == theirs["payload"] == payload.decode("utf-8")
    for sealed in (ours, reference):
        report = validate_seal(sealed)
        assert report.signature_intact and report.errors == [], report.errors
        assert report.algorithm == alg and report.payload == payload and report.level == "B-B"
        assert report.findings.claimed_time == AT.replace(microsecond=0)

    registry = {"sigT": jws.JWSEHeaderParameter("Claimed signing time", True, True, None)}
    checker = jws.JWS(header_registry=registry)
    checker.deserialize(ours.decode("utf-8"))
    checker.verify(jwk.JWK.from_pyca(key.certificate.public_key()))


def test_default_algorithm_follows_key_type(keys) -> None:
    assert _header(JadesSealer(keys["RSA"]).seal(b"{}"))["alg"] == "RS256"
    assert _header(JadesSealer(keys["EC"]).seal(b"{}"))["alg"] == "ES256"


def test_signing_time_changes_are_not_hidden_by_the_header_cache(keys) -> None:
    sealer = JadesSealer(keys["RSA"])
    later = AT + dt.timedelta(seconds=1)
    times = [_header(sealer.seal(b"{}", signing_time=t))["sigT"] for t in (AT, later, AT, AT)]
    assert times == ["2026-11-29T01:02:03Z", "2026-11-29T01:02:04Z", "2026-11-29T01:02:03Z", "2026-11-29T01:02:03Z"]
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    now = dt.datetime.strptime(_header(sealer.seal(b"{}"))["sigT"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert before <= now <= dt.datetime.now(dt.UTC)


def test_other_time_zones_are_converted(keys) -> None:
    paris = AT.astimezone(dt.timezone(dt.timedelta(hours=1)))
    sealed = JadesSealer(keys["RSA"]).seal(b"{}", signing_time=paris)
    assert _header(sealed)["sigT"] == "2026-11-29T01:02:03Z"


def test_baseline_t_like_the_reference(keys, loopback) -> None:
    key = keys["RSA"]
    payload = AWKWARD
    sealed = JadesSealer(key, tsa_url=loopback.url).seal(payload, signing_time=AT)
    reference = dumps(seal_jades(payload, key, tsa_url=loopback.url, signing_time=AT))
    assert list(_header(sealed)) == list(_header(reference))
    assert _header(sealed)["crit"] == ["b64", "sigT", "adoTst"]
    entry = json.loads(sealed)["signatures"][0]
    assert list(entry) == list(json.loads(reference)["signatures"][0]) == ["protected", "header", "signature"]
    content = _header(sealed)["adoTst"]["tstTokens"][0]["val"]
    timestamps.verify_token(base64.b64decode(content), payload)
    assert loopback.requests_seen == 4
    report = validate_seal(sealed)
    assert report.signature_intact and report.errors == [], report.errors
    assert report.level == "B-T" and report.timestamps[-1].covers_data


def test_baseline_t_without_content_timestamp(keys, loopback) -> None:
    sealed = JadesSealer(keys["EC"], tsa_url=loopback.url, content_timestamp=False).seal(b'{"x": 1}')
    assert _header(sealed)["crit"] == ["b64", "sigT"]
    assert loopback.requests_seen == 1
    assert validate_seal(sealed).level == "B-T"


def test_tsa_failure_produces_no_seal(keys, loopback) -> None:
    loopback.mode = "reject"
    with pytest.raises(SealingError, match="timestamp failed"):
        JadesSealer(keys["RSA"], tsa_url=loopback.url).seal(b"{}")


@pytest.mark.parametrize(("key_type", "alg"), [("RSA", "ES256"), ("EC", "RS256"), ("EC", "HS256")])
def test_wrong_algorithm_is_refused_when_built(keys, key_type: str, alg: str) -> None:
    with pytest.raises(UnsupportedAlgorithm):
        JadesSealer(keys[key_type], alg=alg)


@pytest.mark.parametrize(
    ("payload", "kwargs", "message"),
    [
        (b"\xff\xfe", {}, "not valid UTF-8"),
        ("{}", {}, "must be bytes"),
        (b"{}", {"signing_time": dt.datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_input_is_named(keys, payload, kwargs, message: str) -> None:
    with pytest.raises(SealingError, match=message):
        JadesSealer(keys["RSA"]).seal(payload, **kwargs)
