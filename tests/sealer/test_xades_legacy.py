"""The EU's own legacy EDC XML credential (ELM v2, XAdES-LT by DSS): what our verifier says about it.

Facts pinned here were read from the file independently (openssl on the KeyInfo certificate, xmlsec1 on
the signature): a TEST qualified eSeal of ANF (VATES-B00000000), valid 2021-05-05 to 2023-05-05, sealed
2022-08-09 with a ZETES signature timestamp, the data reference excluding the signature with an XPath
Filter 2.0 ``subtract`` transform and exclusive C14N.
"""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from lxml import etree
from xades_support import NS, xmlsec1_verify

from sealer.validation import validate_seal
from tests.reference import ELM_EXAMPLES

SAMPLE = ELM_EXAMPLES / "legacy-elm-v2-xml" / "EDC_DiplomaSupplement_AA.xml"


@pytest.fixture(scope="module")
def sample() -> bytes:
    return SAMPLE.read_bytes()


@pytest.fixture(scope="module")
def embedded(sample) -> dict[str, x509.Certificate]:
    """Certificates of the seal's xades:CertificateValues, by common name."""
    root = etree.fromstring(sample)
    out = {}
    for node in root.iterfind(".//xades:CertificateValues/xades:EncapsulatedX509Certificate", NS):
        cert = x509.load_der_x509_certificate(base64.b64decode(node.text))
        out[cert.subject.rfc4514_string().split("CN=")[1].split(",")[0]] = cert
    return out


def test_legacy_sample_verifies_and_names_its_sealer(sample) -> None:
    report = validate_seal(sample, fetch=False)
    assert report.errors == []
    assert report.signature_intact and report.chain_trusted is None
    assert report.verdict == "indeterminate" and report.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report.algorithm == "RS256"
    assert report.level == "B-LT"
    assert report.certificate.organization_identifier == "VATES-B00000000"
    assert report.certificate.organization_name == "Certificado TEST Sello Electronico"
    assert "CN=ANF Assured ID CA1" in report.certificate.issuer
    assert report.signing_time == dt.datetime(2022, 8, 9, 13, 53, 56, tzinfo=dt.UTC)
    assert report.timestamps[0].time == dt.datetime(2022, 8, 9, 13, 54, 3, tzinfo=dt.UTC)
    assert "ZetesConfidens EC Qualified TSU11" in report.timestamps[0].tsa
    assert report.warnings == ["no trust anchors are configured, so nothing says who made this seal"]
    # The payload is the signed presentation without its signature.
    payload = etree.fromstring(report.payload)
    assert payload.tag == "{http://data.europa.eu/snb/vp}verifiablePresentation"
    assert payload.find(".//ds:Signature", NS) is None
    assert len(payload.findall(".//{http://data.europa.eu/snb}credentialSubject")) >= 1


def test_xmlsec1_agrees_the_legacy_signature_is_intact(sample, tmp_path) -> None:
    ok, output = xmlsec1_verify(sample, tmp_path)
    assert ok, output
    assert "References (ok/all): 2/2" in output


def test_legacy_chain_against_anf_root_needs_proof_of_existence(sample, embedded) -> None:
    """Trusting ANF's root, the chain is built from the seal's CertificateValues; its CA expired in 2024, so
    only a trusted time-stamp could carry the seal past that — offline, the TSA's own revocation status
    is unknown, so the result is indeterminate, never valid."""
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # pinned: after the CA expired (2024), before the root does
    trusted = validate_seal(sample, trust=[embedded["ANF Global Root CA"]], fetch=False, at=at)
    assert trusted.chain_trusted is True and trusted.signature_intact
    assert trusted.verdict == "indeterminate" and trusted.sub_indication == "OUT_OF_BOUNDS_NO_POE"
    assert trusted.proof_of_existence is None
    both = validate_seal(sample, trust=[embedded["ANF Global Root CA"], embedded["ZETES TSP ROOT CA 001"]],
                         fetch=False, at=at)
    assert both.sub_indication == "OUT_OF_BOUNDS_NO_POE"
    assert any("time-stamping authority is not trusted" in w and "revocation" in w for w in both.warnings)
    foreign = validate_seal(sample, trust=[embedded["ZETES TSP ROOT CA 001"]], fetch=False, at=at)
    assert foreign.chain_trusted is False and foreign.signature_intact and not foreign.ok
    assert foreign.sub_indication == "NO_CERTIFICATE_CHAIN_FOUND"
    assert foreign.errors == ["certificate chain: no chain from the certificate to any trust anchor"]


def test_one_changed_byte_in_the_legacy_credential_is_caught(sample) -> None:
    marker = b"Erstellung im Auftrag"
    assert sample.count(marker) == 1
    report = validate_seal(sample.replace(marker, b"Erstellung im Auftrog"))
    assert not report.signature_intact and report.payload == b""
    assert report.errors == ["the seal does not verify: Digest mismatch for reference 0 ()"]
