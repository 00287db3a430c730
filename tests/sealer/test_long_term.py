"""B-LT and B-LTA seals, revocation by OCSP and CRL, and proof of existence — all at a pinned time.

A real TSA, OCSP responder and CRL server run on loopback (tsa_server.py, pki.py); the certificates are
made around ``PINNED``, the TSA stamps ``PINNED`` and verification is asked at explicit times, so the
answers do not depend on the date the tests run.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator

import pytest
from jwcrypto import jwk, jws
from pki import PINNED, Pki, Responder, make_pki, serve
from tsa_server import LoopbackTsa
from tsa_server import serve as serve_tsa

from sealer.jades import JadesSealer, SealingError, dumps, seal_jades
from sealer.jose import b64url_decode
from sealer.ltv import Collector, reset_fetchers
from sealer.validation import validate_seal

PAYLOAD = json.dumps({"issuer": {"eIDASIdentifier": {"notation": "VATFR-00000000000"}},
                      "credentialSubject": {"fullName": {"fr": "Camille Martin"}}}, ensure_ascii=False).encode()
HOUR = dt.timedelta(hours=1)
YEARS = dt.timedelta(days=3 * 365)


@pytest.fixture
def world() -> Iterator[tuple[Pki, Responder, LoopbackTsa]]:
    """The PKI, its responder (every certificate good) and a TSA under the same root, all pinned."""
    reset_fetchers()
    responder = Responder(root=None, root_key=None, at=PINNED)  # type: ignore[arg-type]
    server = serve(responder)
    pki = make_pki(responder.url, crl_url=True)
    responder.root, responder.root_key = pki.root, pki.root_key
    responder.status[pki.seal.certificate.serial_number] = "good"
    tsa = LoopbackTsa(pki.tsa_key, pki.tsa_certificate, gen_time=PINNED)
    tsa_server = serve_tsa(tsa)
    yield pki, responder, tsa
    server.shutdown()
    server.server_close()
    tsa_server.shutdown()
    tsa_server.server_close()
    reset_fetchers()


def _entries(sealed: bytes) -> list[dict]:
    obj = json.loads(sealed)
    return [json.loads(b64url_decode(e, "etsiU")) for e in obj["signatures"][0]["header"]["etsiU"]]


def _seal(pki: Pki, tsa: LoopbackTsa, level: str, signing_time: dt.datetime = PINNED) -> bytes:
    return dumps(seal_jades(PAYLOAD, pki.seal, tsa_url=tsa.url, level=level, signing_time=signing_time,
                            validation_data=Collector([pki.root], at=signing_time)))


def test_b_lta_is_shaped_like_edc_samples(world) -> None:
    pki, responder, tsa = world
    sealed = _seal(pki, tsa, "B-LTA")
    entries = _entries(sealed)
    assert [next(iter(e)) for e in entries] == ["sigTst", "xVals", "rVals", "arcTst"]  # EDC's order
    assert list(entries[0]["sigTst"]) == ["tstTokens"] and list(entries[3]["arcTst"]) == ["tstTokens"]
    assert all(list(item) == ["x509Cert"] for item in entries[1]["xVals"])
    assert set(entries[2]["rVals"]) <= {"crlVals", "ocspVals"} and entries[2]["rVals"]["ocspVals"]
    header = json.loads(b64url_decode(json.loads(sealed)["signatures"][0]["protected"], "protected"))
    assert list(header) == ["alg", "cty", "kid", "x5t#S256", "x5c", "typ", "b64", "sigT", "adoTst", "crit"]
    assert responder.asked >= 1 and tsa.requests_seen == 3  # adoTst, sigTst, arcTst


def test_b_lta_verifies_offline_now_and_after_the_certificate_expired(world) -> None:
    pki, responder, tsa = world
    sealed = _seal(pki, tsa, "B-LTA")
    responder.down = True  # offline from here on: only what the seal embeds counts
    now = validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR, fetch=False)
    assert now.verdict == "valid", now.errors
    assert now.level == "B-LTA" and now.revocation == {"status": "good", "source": "embedded"}
    assert now.proof_of_existence == PINNED
    later = validate_seal(sealed, trust=[pki.root], at=PINNED + YEARS, fetch=False)
    assert pki.seal.certificate.not_valid_after_utc < PINNED + YEARS
    assert later.verdict == "valid", later.errors
    assert any("has expired since" in w for w in later.warnings)


def test_b_lta_still_verifies_with_jwcrypto(world) -> None:
    pki, _responder, tsa = world
    sealed = _seal(pki, tsa, "B-LTA")
    registry = {name: jws.JWSEHeaderParameter(name, True, True, None) for name in ("sigT", "adoTst")}
    checker = jws.JWS(header_registry=registry)
    checker.deserialize(sealed.decode("utf-8"))
    checker.verify(jwk.JWK.from_pyca(pki.seal.certificate.public_key()))
    assert checker.payload == PAYLOAD.decode("utf-8")


def test_bulk_sealer_shares_validation_data_across_a_chunk(world) -> None:
    pki, responder, tsa = world
    sealer = JadesSealer(pki.seal, tsa_url=tsa.url, level="B-LTA", validation_data=Collector([pki.root], at=PINNED))
    chunk = sealer.seal_chunk([(PAYLOAD, None), (PAYLOAD.replace(b"Camille", b"Dominique"), None)],
                              signing_time=PINNED)
    assert responder.asked == 1  # one OCSP answer, asked after both signature time-stamps
    assert tsa.requests_seen == 6  # content, signature and archive time-stamps are per seal
    first, second = (_entries(s) for s in chunk)
    assert first[1:3] == second[1:3] and first[3] != second[3]
    for sealed in chunk:
        report = validate_seal(sealed, trust=[pki.root], at=PINNED + YEARS, fetch=False)
        assert report.verdict == "valid", report.errors


def test_chunk_time_stamps_are_asked_concurrently_and_each_covers_its_own_seal(world) -> None:
    pki, responder, tsa = world
    tsa.delay = 0.2  # a TSA across the network: requests overlap only if they are sent together
    sealer = JadesSealer(pki.seal, tsa_url=tsa.url, level="B-LTA", tsa_concurrency=4,
                         validation_data=Collector([pki.root], at=PINNED))
    payloads = [PAYLOAD.replace(b"Camille", f"Camille{i:02d}".encode()) for i in range(10)]
    chunk = sealer.seal_chunk([(p, None) for p in payloads], signing_time=PINNED)
    assert tsa.requests_seen == 30 and 1 < tsa.most_in_flight <= 4  # bounded, and concurrent
    assert responder.asked == 1
    signature_tokens = set()
    for payload, sealed in zip(payloads, chunk, strict=True):
        report = validate_seal(sealed, trust=[pki.root], at=PINNED + YEARS, fetch=False)
        assert report.verdict == "valid", report.errors
        assert report.payload == payload  # each seal in its item's place, its time-stamps over its own bytes
        assert [t.covers_data for t in report.timestamps] == [True, True, True]
        signature_tokens.add(_entries(sealed)[0]["sigTst"]["tstTokens"][0]["val"])
    assert len(signature_tokens) == 10


def test_a_failing_time_stamp_fails_the_whole_chunk(world) -> None:
    pki, _responder, tsa = world
    sealer = JadesSealer(pki.seal, tsa_url=tsa.url, level="B-LTA", validation_data=Collector([pki.root], at=PINNED))
    tsa.mode = "wrong_imprint"
    with pytest.raises(SealingError, match="imprint"):
        sealer.seal_chunk([(PAYLOAD, None)] * 5, signing_time=PINNED)


def test_revoked_certificate(world) -> None:
    pki, responder, tsa = world
    serial = pki.seal.certificate.serial_number
    b_b = dumps(seal_jades(PAYLOAD, pki.seal, signing_time=PINNED))
    b_t = dumps(seal_jades(PAYLOAD, pki.seal, tsa_url=tsa.url, signing_time=PINNED))
    responder.status[serial] = "revoked"
    responder.revoked_at[serial] = PINNED + dt.timedelta(days=10)
    responder.at = PINNED + dt.timedelta(days=15)
    at = PINNED + dt.timedelta(days=20)
    no_poe = validate_seal(b_b, trust=[pki.root], at=at)
    assert (no_poe.verdict, no_poe.sub_indication) == ("indeterminate", "REVOKED_NO_POE"), no_poe.errors
    before = validate_seal(b_t, trust=[pki.root], at=at)  # time-stamped before the revocation
    assert before.verdict == "valid", before.errors
    tsa.gen_time = PINNED + dt.timedelta(days=12)
    after = dumps(seal_jades(PAYLOAD, pki.seal, tsa_url=tsa.url, signing_time=tsa.gen_time))
    late = validate_seal(after, trust=[pki.root], at=at)
    assert (late.verdict, late.sub_indication) == ("invalid", "REVOKED"), late.errors


@pytest.mark.parametrize("state", ["unknown", "down"])
def test_unknown_or_unreachable_revocation_is_indeterminate(world, state: str) -> None:
    _pki, responder, _tsa = world
    pki = make_pki(responder.url, ocsp_url=True, crl_url=False)  # no CRL to fall back on
    responder.root, responder.root_key = pki.root, pki.root_key
    sealed = dumps(seal_jades(PAYLOAD, pki.seal, signing_time=PINNED))
    if state == "down":
        responder.down = True
    else:
        responder.status[pki.seal.certificate.serial_number] = "unknown"
    report = validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR)
    assert report.verdict == "indeterminate" and report.sub_indication == "TRY_LATER", report.errors
    offline = validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR, fetch=False)
    assert offline.sub_indication == "TRY_LATER"


def test_crl_only_certificate(world) -> None:
    _pki, responder, _tsa = world
    pki = make_pki(responder.url, ocsp_url=False, crl_url=True)
    responder.root, responder.root_key = pki.root, pki.root_key
    sealed = dumps(seal_jades(PAYLOAD, pki.seal, signing_time=PINNED))
    report = validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR)
    assert report.verdict == "valid" and report.revocation == {"status": "good", "source": "fetched"}
    responder.status[pki.seal.certificate.serial_number] = "revoked"
    responder.revoked_at[pki.seal.certificate.serial_number] = PINNED - HOUR
    reset_fetchers()
    revoked = validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR)
    assert revoked.sub_indication in ("REVOKED", "REVOKED_NO_POE") and revoked.verdict != "valid"


def test_expired_certificate_with_back_dated_sigt_is_indeterminate(world) -> None:
    """Attack: a B-B seal made after the certificate expired, claiming a time inside its validity."""
    pki, _responder, _tsa = world
    back_dated = dumps(seal_jades(PAYLOAD, pki.seal, signing_time=PINNED))
    report = validate_seal(back_dated, trust=[pki.root], at=PINNED + YEARS, fetch=False)
    assert (report.verdict, report.sub_indication) == ("indeterminate", "OUT_OF_BOUNDS_NO_POE")
    assert report.proof_of_existence is None


def test_time_stamp_from_an_untrusted_tsa_proves_nothing(world) -> None:
    """Attack: a genuine time-stamp from a TSA outside the anchors does not carry an expired seal."""
    pki, _responder, tsa = world
    stranger = make_pki("http://127.0.0.1:9")
    tsa.key, tsa.certificate = stranger.tsa_key, stranger.tsa_certificate
    sealed = _seal(pki, tsa, "B-T")
    report = validate_seal(sealed, trust=[pki.root], at=PINNED + YEARS, fetch=False)
    assert report.proof_of_existence is None
    assert [(t.kind, t.trusted) for t in report.timestamps] == [("content", None), ("signature", False)]
    assert (report.verdict, report.sub_indication) == ("indeterminate", "OUT_OF_BOUNDS_NO_POE")


def test_b_lt_needs_a_tsa_and_roots() -> None:
    from sealer.jades import SealingError
    from sealer.keys import create_dev_seal  # noqa: F401 - the key source type is all that matters

    pki = make_pki("http://127.0.0.1:9")
    with pytest.raises(SealingError, match="time-stamping authority"):
        seal_jades(PAYLOAD, pki.seal, level="B-LTA")
    with pytest.raises(SealingError, match="root certificates"):
        seal_jades(PAYLOAD, pki.seal, level="B-LT", tsa_url="http://127.0.0.1:9/tsa")
    with pytest.raises(SealingError, match="level must be one of"):
        seal_jades(PAYLOAD, pki.seal, level="B-X")


def test_der_of_embedded_values_is_what_the_seal_carries(world) -> None:
    pki, _responder, tsa = world
    entries = _entries(_seal(pki, tsa, "B-LT"))
    certs = [base64.b64decode(item["x509Cert"]["val"]) for item in entries[1]["xVals"]]
    assert any(c == pki.root.public_bytes(__import__("cryptography").hazmat.primitives.serialization.Encoding.DER)
               for c in certs)


def test_fetched_answers_are_kept_only_for_a_while(world, monkeypatch: pytest.MonkeyPatch) -> None:
    """A verifier that keeps running sees a revocation once its cached OCSP answer is too old."""
    import sealer.ltv as ltv

    pki, responder, _tsa = world
    sealed = dumps(seal_jades(PAYLOAD, pki.seal, signing_time=PINNED))
    assert validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR).verdict == "valid"
    serial = pki.seal.certificate.serial_number
    responder.status[serial], responder.revoked_at[serial] = "revoked", PINNED + dt.timedelta(minutes=30)
    asked = responder.asked
    assert validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR).verdict == "valid"  # cached answer
    assert responder.asked == asked
    monkeypatch.setattr(ltv, "FETCH_CACHE_SECONDS", 0.0)
    again = validate_seal(sealed, trust=[pki.root], at=PINNED + HOUR)
    assert responder.asked > asked and again.sub_indication == "REVOKED_NO_POE", again.errors
