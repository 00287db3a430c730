"""PAdES seals on the learner's PDF, from each key source the sidecar seals with, read back by pyHanko's own
validator: the software eSeal (PKCS#12) and a key that never leaves a SoftHSM2 token (PKCS#11), B-B without
a time-stamping authority and B-T with one."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from softhsm import SoftHsm
from tsa_server import LoopbackTsa

from sealer.keys import Pkcs12KeySource
from sealer.keys.pkcs11 import Pkcs11KeySource
from sealer.pades import seal_pdf, verify_pdf


@pytest.fixture(scope="module")
def pdf() -> bytes:
    import weasyprint

    return weasyprint.HTML(string="<h1>Certificat</h1><p>Camille Martin</p>").write_pdf()


def _der(certificate) -> bytes:  # noqa: ANN001
    return certificate.public_bytes(Encoding.DER)


@pytest.mark.parametrize("name", ["rsa", "ec"])
def test_token_key_seals_the_pdf_and_pyhanko_accepts_it(softhsm: SoftHsm, pdf: bytes, name: str) -> None:
    key = softhsm.keys[name]
    source = Pkcs11KeySource(softhsm.module, key.token_label, key.key_label, pin_file=softhsm.pin_file())
    sealed = seal_pdf(pdf, source, reason="test")
    assert sealed.startswith(pdf)  # an incremental update: the document itself is untouched
    report = verify_pdf(sealed)
    assert report.sealed and report.intact and report.valid and report.covers_whole_file
    assert _der(report.signer) == _der(source.certificate) and not report.timestamped
    tampered = sealed.replace(b"Camille", b"Camilla", 1)
    assert tampered == sealed or not verify_pdf(tampered).intact


def test_with_a_tsa_the_seal_is_b_t(keys: dict[str, Pkcs12KeySource], loopback: LoopbackTsa, pdf: bytes) -> None:
    source = keys["RSA"]
    sealed = seal_pdf(pdf, source, tsa_url=loopback.url)
    report = verify_pdf(sealed)
    assert report.intact and report.valid and report.timestamped
    assert _der(report.signer) == _der(source.certificate) and loopback.requests_seen >= 1


def test_an_unsealed_pdf_says_so(pdf: bytes) -> None:
    report = verify_pdf(pdf)
    assert not report.sealed and report.errors == ["the PDF carries no seal"]
