"""Software key sources: PKCS#12 loading, algorithm checks, and the dev seal's certificate contents."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID

from sealer.keys import KeySourceError, Pkcs12KeySource, UnsupportedAlgorithm
from sealer.keys.devseal import NOT_QUALIFIED, create_dev_seal


@pytest.fixture(scope="module", params=["RSA", "EC"])
def dev_seal(request, tmp_path_factory):
    return create_dev_seal(tmp_path_factory.mktemp(request.param), key_type=request.param,
                           organization_identifier="VATBE-0123456789")


def test_dev_seal_carries_organization_identifier_and_says_not_qualified(dev_seal) -> None:
    source = Pkcs12KeySource(dev_seal.pkcs12_path, dev_seal.password)
    subject = source.certificate.subject
    assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value == "VATBE-0123456789"
    assert NOT_QUALIFIED in subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert len(source.chain) == 1  # the self-signed CA is a trust anchor, not part of x5c
    assert oct(dev_seal.pkcs12_path.stat().st_mode & 0o777) == "0o600"


def test_signatures_verify_with_the_certificate(dev_seal) -> None:
    source = Pkcs12KeySource(dev_seal.pkcs12_path, dev_seal.password)
    public = source.certificate.public_key()
    data = b"payload to seal"
    if source.key_type == "RSA":
        public.verify(source.sign(data, "RS256"), data, padding.PKCS1v15(), hashes.SHA256())
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        public.verify(source.sign(data, "PS256"), data, pss, hashes.SHA256())
        with pytest.raises(UnsupportedAlgorithm):
            source.sign(data, "ES256")
    else:
        raw = source.sign(data, "ES256")
        assert len(raw) == 64
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
        with pytest.raises(UnsupportedAlgorithm):
            source.sign(data, "RS256")


def test_wrong_password_is_reported_without_the_password(dev_seal) -> None:
    with pytest.raises(KeySourceError) as err:
        Pkcs12KeySource(dev_seal.pkcs12_path, "s3cret-guess")
    assert "s3cret-guess" not in str(err.value)
    assert "wrong password" in str(err.value)


def test_missing_file_is_a_key_source_error(tmp_path) -> None:
    with pytest.raises(KeySourceError, match="cannot read"):
        Pkcs12KeySource(tmp_path / "absent.p12", "x")


def test_bad_organization_identifier_is_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="ETSI EN 319 412-1"):
        create_dev_seal(tmp_path, organization_identifier="12345")
