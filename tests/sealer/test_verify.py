"""Seal verification: EDC's own sealed samples, the tampering matrix, trust anchors, format detection."""
from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from jwcrypto import jwk, jws

from sealer import certificates
from sealer.jades import dumps, seal_jades
from sealer.jose import b64url_decode, b64url_encode, compact_json
from sealer.keys import Pkcs12KeySource, SoftwareKeySource
from sealer.keys.devseal import create_dev_seal
from sealer.validation import detect_format, validate_seal
from tests.reference import ELM_EXAMPLES
from tests.sealer.checks import intact

EXAMPLES = ELM_EXAMPLES
CERT_OF_PART = EXAMPLES / "elm-v3/Sample-CertOfPart-signed.jsonld"
LTA = EXAMPLES / "edc-software/json_to_seal-signed-jades-baseline-lta.json"
UNSIGNED = EXAMPLES / "elm-v3/Sample-CertOfPart-unsigned.jsonld"


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    seal = create_dev_seal(tmp_path_factory.mktemp("dev"))
    other = create_dev_seal(tmp_path_factory.mktemp("other"), organisation="Another Issuer")
    return seal, other


@pytest.fixture(scope="module")
def own_seal(dev) -> bytes:
    seal, _ = dev
    key = Pkcs12KeySource(seal.pkcs12_path, seal.password)
    return dumps(seal_jades(UNSIGNED.read_bytes(), key))


def _header(obj: dict) -> dict:
    return json.loads(b64url_decode(obj["signatures"][0]["protected"], "protected"))


def _with_header(obj: dict, change: Callable[[dict], None]) -> dict:
    header = _header(obj)
    change(header)
    obj["signatures"][0]["protected"] = b64url_encode(compact_json(header))
    return obj


def _pem_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


# ------------------------------------------------------------------------------------------ EDC samples


@pytest.mark.parametrize("sample", [CERT_OF_PART, LTA], ids=["CertOfPart", "json_to_seal-LTA"])
def test_edc_samples_verify(sample: Path) -> None:
    data = sample.read_bytes()
    original = json.loads(data)
    header = _header(original)
    report = validate_seal(data, fetch=False)
    assert report.format == "JAdES"
    assert report.signature_intact and report.errors == [], report.errors
    # Intact, but without EDC's CA as an anchor nothing says who sealed it.
    assert report.verdict == "indeterminate" and report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.level == "B-LTA"
    assert report.payload == original["payload"].encode("utf-8")
    claimed = report.findings.claimed_time
    assert claimed.strftime("%Y-%m-%dT%H:%M:%SZ") == header["sigT"]
    assert [t.kind for t in report.timestamps] == ["content", "signature", "archive"]
    assert all(t.covers_data for t in report.timestamps) and report.timestamps[1].time >= claimed
    assert all(t.trusted is None for t in report.timestamps) and report.proof_of_existence is None
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    assert report.to_dict()["certificate"]["organization_identifier"].startswith("VATES-")
    assert report.findings.certificate == leaf
    json.dumps(report.to_dict())  # JSON-ready
    assert "payload" not in report.to_dict()


def test_lta_chain_is_built_through_xvals_certificates() -> None:
    """The LTA sample's xVals carry the issuing CA and ANF's root: trusted at the timestamp time."""
    original = json.loads(LTA.read_text())
    entries = [json.loads(b64url_decode(e, "etsiU")) for e in original["signatures"][0]["header"]["etsiU"]]
    xvals = next(e["xVals"] for e in entries if "xVals" in e)
    certs = [x509.load_der_x509_certificate(base64.b64decode(v["x509Cert"]["val"])) for v in xvals]
    root = next(c for c in certs if c.subject == c.issuer and "ANF" in c.subject.rfc4514_string())
    assert _header(original)["x5c"][1:] == []  # the intermediate really comes from xVals
    tsa = next(c for c in certs if c.subject == c.issuer and "tsa" in c.subject.rfc4514_string())
    report = validate_seal(original, trust=[root, tsa], fetch=False)
    assert report.chain_trusted is True
    # The archive and signature time-stamps chain to the anchors: proof of existence at sealing time.
    assert report.proof_of_existence == dt.datetime(2022, 8, 19, 11, 10, 46, tzinfo=dt.UTC)
    # The sample embeds an OCSP answer for the seal certificate only; its CA's status is unknown offline.
    assert report.verdict == "indeterminate" and report.sub_indication == "TRY_LATER"
    assert any("no revocation information" in e and "ANF Assured ID CA1" in e for e in report.errors)
    foreign = validate_seal(original, trust=[tsa], fetch=False)
    assert foreign.chain_trusted is False and foreign.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"


# -------------------------------------------------------------------------------------- tampering matrix


def _flip_payload(obj: dict) -> None:
    text = obj["payload"]
    i = len(text) // 2
    obj["payload"] = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1:]


def _swap_cert(obj: dict, other: x509.Certificate, consistent: bool) -> None:
    def change(h: dict) -> None:
        h["x5c"][0] = base64.b64encode(certificates.der(other)).decode()
        if consistent:
            h["x5t#S256"] = certificates.x5t_s256(other)
            h["kid"] = certificates.kid_for(other)
    _with_header(obj, change)


def _replace_sig_tst(obj: dict) -> None:
    """Put the content timestamp (over the payload) where the signature timestamp belongs."""
    entry = obj["signatures"][0]
    ado = _header(obj)["adoTst"]
    etsi_u = entry["header"]["etsiU"]
    for i, item in enumerate(etsi_u):
        if "sigTst" in json.loads(b64url_decode(item, "etsiU")):
            etsi_u[i] = b64url_encode(compact_json({"sigTst": ado}))


def _flip_signature(obj: dict) -> None:
    raw = bytearray(b64url_decode(obj["signatures"][0]["signature"], "signature"))
    raw[10] ^= 0x01
    obj["signatures"][0]["signature"] = b64url_encode(bytes(raw))


TAMPERS: dict[str, tuple[Callable[[dict, x509.Certificate], None], str]] = {
    "payload byte": (lambda o, c: _flip_payload(o), "signature does not match"),
    "sigT changed": (lambda o, c: _with_header(o, lambda h: h.update(sigT="2020-01-01T00:00:00Z")),
                     "signature does not match"),
    "cty changed": (lambda o, c: _with_header(o, lambda h: h.update(cty="json+x")),
                    "signature does not match"),
    "cert swapped": (lambda o, c: _swap_cert(o, c, False), "x5t#S256 does not match"),
    "cert swapped, x5t and kid updated": (lambda o, c: _swap_cert(o, c, True), "signature does not match"),
    "crit removed": (lambda o, c: _with_header(o, lambda h: h.pop("crit")), "'crit' must be"),
    "sigT not critical": (lambda o, c: _with_header(o, lambda h: h["crit"].remove("sigT")),
                          "must list 'sigT'"),
    "unknown critical": (lambda o, c: _with_header(o, lambda h: h.update(crit=[*h["crit"], "sigD"], sigD={})),
                         "'sigD' is not understood"),
    "b64 true": (lambda o, c: _with_header(o, lambda h: h.update(b64=True)), "'b64' must be false"),
    "x5t wrong": (lambda o, c: _with_header(o, lambda h: h.update({"x5t#S256": b64url_encode(b"\0" * 32)})),
                  "x5t#S256 does not match"),
    "alg RS256->PS256": (lambda o, c: _with_header(o, lambda h: h.update(alg="PS256")),
                         "signature does not match"),
    "alg HS256": (lambda o, c: _with_header(o, lambda h: h.update(alg="HS256")), "'HS256' is not allowed"),
    "alg none": (lambda o, c: _with_header(o, lambda h: h.update(alg="none")), "'none' is not allowed"),
    "signature bit": (lambda o, c: _flip_signature(o), "signature does not match"),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
@pytest.mark.parametrize("source", ["CertOfPart", "LTA", "own"])
def test_tampered_seals_are_rejected(name: str, source: str, own_seal: bytes, dev) -> None:
    data = {"CertOfPart": CERT_OF_PART.read_bytes(), "LTA": LTA.read_bytes(), "own": own_seal}[source]
    obj = json.loads(data)
    assert intact(copy.deepcopy(obj))  # the untouched seal is fine
    tamper, message = TAMPERS[name]
    tamper(obj, _pem_cert(dev[1].certificate_path))
    report = validate_seal(dumps(obj))
    assert not report.ok
    assert any(message in e for e in report.errors), report.errors


@pytest.mark.parametrize("sample", [CERT_OF_PART, LTA], ids=["CertOfPart", "LTA"])
def test_misplaced_signature_timestamp_is_rejected(sample: Path) -> None:
    obj = json.loads(sample.read_text())
    _replace_sig_tst(obj)
    report = validate_seal(obj)
    assert report.signature_intact  # the signature itself is untouched
    assert report.verdict == "invalid" and report.sub_indication == "HASH_FAILURE"
    assert any(e.startswith("sigTst: ") and "imprint" in e for e in report.errors)
    assert [t.covers_data for t in report.timestamps if t.kind == "signature"] == [False]


def test_edc_sample_also_verifies_with_jwcrypto() -> None:
    """An independent JOSE library agrees on EDC's signing input (RFC 7797, b64=false)."""
    text = CERT_OF_PART.read_text()
    header = _header(json.loads(text))
    leaf = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
    registry = {name: jws.JWSEHeaderParameter(name, True, True, None) for name in ("sigT", "adoTst")}
    checker = jws.JWS(header_registry=registry)
    checker.deserialize(text)
    checker.verify(jwk.JWK.from_pyca(leaf.public_key()))
    assert checker.payload == json.loads(text)["payload"]


def test_signing_time_outside_certificate_validity(dev) -> None:
    seal, _ = dev
    key = Pkcs12KeySource(seal.pkcs12_path, seal.password)
    before = key.certificate.not_valid_before_utc - dt.timedelta(days=3)
    report = validate_seal(seal_jades(b"{}", key, signing_time=before))
    assert report.signature_intact and report.verdict == "indeterminate"
    assert "the certificate was not valid at the claimed signing time" in report.errors


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"signatures": []}', "exactly one seal"),
        (b'{"signatures": [{"protected": "e30", "signature": "AA"}]}', "payload must be present"),
        (b'{"payload": "{}", "signatures": [{"protected": "!!", "signature": "AA"}]}',
         "protected header is not unpadded base64url"),
        (b'{"payload": "{}", "signatures": [{"protected": "e30", "signature": "AA"}]}',
         "alg None is not allowed"),
        (b'{"payload": "{}", "payload": "{}", "signatures": []}', "repeats the member 'payload'"),
        (b'{"payload": "{}", "signatures": [{"protected": 5, "signature": "AA"}]}',
         "signatures[0].protected must be a string"),
    ],
)
def test_malformed_seals_give_named_errors(data: bytes, message: str) -> None:
    report = validate_seal(data)
    assert report.format == "JAdES"
    assert not report.signature_intact
    assert any(message in e for e in report.errors), report.errors


# --------------------------------------------------------------------------------------------- trust


def test_dev_ca_trusted_other_ca_not(dev, own_seal: bytes, tmp_path: Path) -> None:
    seal, other = dev
    trusted_dir = tmp_path / "trusted"
    trusted_dir.mkdir()
    (trusted_dir / "dev-ca.pem").write_bytes(seal.ca_certificate_path.read_bytes())
    report = validate_seal(own_seal, trust=trusted_dir)
    assert report.chain_trusted is True and report.ok, report.errors

    untrusted_dir = tmp_path / "untrusted"
    untrusted_dir.mkdir()
    (untrusted_dir / "other.der").write_bytes(
        _pem_cert(other.ca_certificate_path).public_bytes(serialization.Encoding.DER)
    )
    report = validate_seal(own_seal, trust=untrusted_dir)
    assert report.signature_intact
    assert report.chain_trusted is False and not report.ok
    assert report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert any("no chain" in e for e in report.errors)
    assert validate_seal(own_seal).chain_trusted is None


def test_empty_or_missing_trust_directory(own_seal: bytes, tmp_path: Path) -> None:
    report = validate_seal(own_seal, trust=tmp_path)
    assert report.chain_trusted is False
    assert any("contains no .pem" in e for e in report.errors)
    assert any("do not exist" in e for e in validate_seal(own_seal, trust=tmp_path / "nope").errors)


def _cert(subject: str, issuer: str, key, issuer_key, *, ca: bool, sign: bool = True) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    usage = x509.KeyUsage(digital_signature=sign and not ca, content_commitment=False, key_encipherment=not sign,
                          data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                          encipher_only=False, decipher_only=False)
    return (
        x509.CertificateBuilder()
        .add_extension(usage, critical=True)
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )


def test_intermediate_from_x5c_is_used(tmp_path: Path) -> None:
    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _cert("Root", "Root", root_key, root_key, ca=True)
    mid = _cert("Mid", "Root", mid_key, root_key, ca=True)
    leaf = _cert("Leaf", "Mid", leaf_key, mid_key, ca=False)
    sealed = seal_jades(b'{"k": "v"}', SoftwareKeySource(leaf_key, leaf, [mid]), alg="ES256")
    assert len(_header(sealed)["x5c"]) == 2
    assert validate_seal(sealed, trust=[root]).chain_trusted is True
    without_mid = seal_jades(b'{"k": "v"}', SoftwareKeySource(leaf_key, leaf), alg="ES256")
    assert validate_seal(without_mid, trust=[root]).chain_trusted is False


# ------------------------------------------------------------------------------------ format detection


def test_detection_of_formats() -> None:
    assert detect_format(CERT_OF_PART.read_bytes()) == "JAdES"
    assert detect_format(b"\xef\xbb\xbf  " + LTA.read_bytes()) == "JAdES"
    assert detect_format(b'  <?xml version="1.0"?><a/>') == "XAdES"
    assert detect_format(UNSIGNED.read_bytes()) == "unsealed"
    assert detect_format(b"%PDF-1.7") == "unknown"
    assert detect_format(b"{not json") == "unknown"


def test_unsealed_and_unknown_input_give_clear_errors() -> None:
    report = validate_seal(UNSIGNED.read_bytes())
    assert report.format == "unsealed" and not report.ok
    assert "carries no seal" in report.errors[0]
    assert report.payload == UNSIGNED.read_bytes()
    report = validate_seal(b"\x00\x01binary")
    assert report.format == "unknown"
    assert "neither a JAdES seal" in report.errors[0]


def test_bom_prefixed_seal_verifies() -> None:
    assert intact(b"\xef\xbb\xbf" + CERT_OF_PART.read_bytes())


def test_xml_is_dispatched_to_the_xades_verifier(dev, tmp_path: Path) -> None:
    from sealer.xades import seal_xades

    seal, _ = dev
    key = Pkcs12KeySource(seal.pkcs12_path, seal.password)
    sealed = seal_xades(b'<?xml version="1.0" encoding="UTF-8"?><credential><name>A</name></credential>', key)
    (tmp_path / "ca.pem").write_bytes(seal.ca_certificate_path.read_bytes())
    report = validate_seal(sealed, trust=tmp_path)
    assert report.format == "XAdES"
    assert report.ok and report.chain_trusted is True, report.errors
    tampered = validate_seal(sealed.replace(b"<name>A</name>", b"<name>B</name>"))
    assert tampered.format == "XAdES" and not tampered.ok


def test_certificate_not_meant_for_signatures_is_rejected() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert("Encryption only", "Encryption only", key, key, ca=False, sign=False)
    report = validate_seal(seal_jades(b"{}", SoftwareKeySource(key, cert), alg="ES256"))
    assert report.signature_intact and not report.ok
    assert "allows neither digitalSignature nor nonRepudiation" in report.errors[0]


def test_trust_bundle_file_and_bad_anchor_file(dev, own_seal: bytes, tmp_path: Path) -> None:
    seal, other = dev
    bundle = tmp_path / "eu-bundle.pem"
    bundle.write_bytes(other.ca_certificate_path.read_bytes() + seal.ca_certificate_path.read_bytes())
    assert validate_seal(own_seal, trust=bundle).chain_trusted is True
    assert validate_seal(own_seal, trust=str(bundle)).chain_trusted is True
    junk = tmp_path / "junk.crt"
    junk.write_bytes(b"not a certificate")
    report = validate_seal(own_seal, trust=junk)
    assert report.chain_trusted is False
    assert report.errors == [f"the trust anchors cannot be used: {junk} is not a PEM or DER X.509 certificate file"]
