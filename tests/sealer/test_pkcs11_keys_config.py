"""open_key_source: exactly one configured source, PKCS#12 / PKCS#11 (SoftHSM2) / dev seal, extra chain."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from softhsm import SoftHsm

from sealer.keys import KeySourceError, Pkcs12KeySource
from sealer.keys.config import ChainedKeySource, describe_key_source, open_key_source
from sealer.keys.devseal import NOT_QUALIFIED, create_dev_seal
from sealer.keys.pkcs11 import Pkcs11KeySource

SECRET = "pw-Zq81-unique"


def pkcs11_settings(hsm: SoftHsm, name: str = "rsa", **extra: str) -> dict[str, str]:
    key = hsm.keys[name]
    return {"EDC_SEAL_PKCS11_MODULE": hsm.module, "EDC_SEAL_PKCS11_TOKEN_LABEL": key.token_label,
            "EDC_SEAL_PKCS11_KEY_LABEL": key.key_label, "EDC_SEAL_PKCS11_PIN_FILE": str(hsm.pin_file()),
            **extra}


def _cert(subject: str, issuer: str, public, signer, *, ca: bool) -> x509.Certificate:
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(signer, hashes.SHA256())
    )


@pytest.fixture
def three_level_p12(tmp_path: Path) -> tuple[Path, x509.Certificate, x509.Certificate]:
    """A PKCS#12 holding only key + leaf, the leaf issued by an intermediate under a root (PEM bundle)."""
    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _cert("Root", "Root", root_key.public_key(), root_key, ca=True)
    inter = _cert("Intermediate", "Root", inter_key.public_key(), root_key, ca=True)
    leaf = _cert("Seal", "Intermediate", leaf_key.public_key(), inter_key, ca=False)
    p12 = tmp_path / "seal.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", leaf_key, leaf, None, serialization.BestAvailableEncryption(SECRET.encode())))
    bundle = tmp_path / "chain.pem"
    bundle.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (root, inter)))
    return p12, inter, bundle


def test_nothing_configured_lists_every_way(tmp_path) -> None:
    for settings in ({}, {"EDC_DEV_SEAL": "0", "EDC_SEAL_PKCS12": ""}, {"EDC_SEAL_CHAIN": "x.pem"}):
        with pytest.raises(KeySourceError) as err:
            open_key_source(settings)
        expected = ("EDC_SEAL_PKCS12", "EDC_SEAL_PKCS11_MODULE", "EDC_SEAL_PKCS11_PIN_FILE", "EDC_DEV_SEAL=1")
        for name in expected:
            assert name in str(err.value)


def test_two_sources_are_refused_without_echoing_secrets(tmp_path) -> None:
    settings = {"EDC_SEAL_PKCS12": "a.p12", "EDC_SEAL_PKCS12_PASSWORD": SECRET,
                "EDC_SEAL_PKCS11_PIN": SECRET, "EDC_DEV_SEAL": "1"}
    with pytest.raises(KeySourceError) as err:
        open_key_source(settings)
    message = str(err.value)
    assert "exactly one" in message
    assert "EDC_SEAL_PKCS12_PASSWORD" in message and "EDC_SEAL_PKCS11_PIN" in message
    assert "EDC_DEV_SEAL" in message
    assert SECRET not in message


def test_malformed_dev_seal_flag_is_named() -> None:
    with pytest.raises(KeySourceError, match="EDC_DEV_SEAL must be 1"):
        open_key_source({"EDC_DEV_SEAL": "maybe"})


def test_pkcs12_with_password_or_password_file(three_level_p12, tmp_path) -> None:
    p12, _, _ = three_level_p12
    source = open_key_source({"EDC_SEAL_PKCS12": str(p12), "EDC_SEAL_PKCS12_PASSWORD": SECRET})
    assert isinstance(source, Pkcs12KeySource)
    password_file = tmp_path / "password"
    password_file.write_text(SECRET + "\n")
    from_file = open_key_source({"EDC_SEAL_PKCS12": str(p12),
                                 "EDC_SEAL_PKCS12_PASSWORD_FILE": str(password_file)})
    assert from_file.certificate == source.certificate
    with pytest.raises(KeySourceError, match="not both"):
        open_key_source({"EDC_SEAL_PKCS12": str(p12), "EDC_SEAL_PKCS12_PASSWORD": SECRET,
                         "EDC_SEAL_PKCS12_PASSWORD_FILE": str(password_file)})
    with pytest.raises(KeySourceError, match="EDC_SEAL_PKCS12 .*is required"):
        open_key_source({"EDC_SEAL_PKCS12_PASSWORD": SECRET})
    with pytest.raises(KeySourceError, match="EDC_SEAL_PKCS12_PASSWORD_FILE: cannot read"):
        open_key_source({"EDC_SEAL_PKCS12": str(p12), "EDC_SEAL_PKCS12_PASSWORD_FILE": str(tmp_path / "no")})


def test_chain_file_adds_intermediates_in_order_and_drops_roots(three_level_p12) -> None:
    p12, intermediate, bundle = three_level_p12
    source = open_key_source({"EDC_SEAL_PKCS12": str(p12), "EDC_SEAL_PKCS12_PASSWORD": SECRET,
                              "EDC_SEAL_CHAIN": str(bundle)})
    assert isinstance(source, ChainedKeySource)
    assert source.chain == [source.certificate, intermediate]
    signature = source.sign(b"data", "ES256")
    assert len(signature) == 64


def test_chain_file_with_an_unrelated_certificate_is_refused(softhsm: SoftHsm, tmp_path) -> None:
    unrelated = create_dev_seal(tmp_path / "other", key_type="EC").certificate_path
    with pytest.raises(KeySourceError, match=r"EDC_SEAL_CHAIN: .* is not an issuer"):
        open_key_source(pkcs11_settings(softhsm, EDC_SEAL_CHAIN=str(unrelated)))


def test_pkcs11_settings_open_the_token_key(softhsm: SoftHsm) -> None:
    source = open_key_source(pkcs11_settings(softhsm, "ec"))
    assert isinstance(source, Pkcs11KeySource)
    assert source.key_type == "EC"
    assert source.certificate == softhsm.keys["ec"].certificate
    bare = softhsm.keys["rsa-bare"]
    with_cert = open_key_source(pkcs11_settings(softhsm, "rsa-bare",
                                                EDC_SEAL_PKCS11_CERT=str(bare.certificate_path)))
    assert with_cert.certificate == bare.certificate
    assert "PKCS#11 token 'edc-ec', key 'seal'" in describe_key_source(pkcs11_settings(softhsm, "ec"))


def test_incomplete_pkcs11_settings_name_what_is_missing(softhsm: SoftHsm) -> None:
    with pytest.raises(KeySourceError) as err:
        open_key_source({"EDC_SEAL_PKCS11_MODULE": softhsm.module})
    for name in ("EDC_SEAL_PKCS11_TOKEN_LABEL", "EDC_SEAL_PKCS11_KEY_LABEL", "EDC_SEAL_PKCS11_PIN_FILE"):
        assert name in str(err.value)
    with pytest.raises(KeySourceError, match="not both"):
        open_key_source(pkcs11_settings(softhsm, EDC_SEAL_PKCS11_PIN=softhsm.user_pin))


def test_dev_seal_is_created_once_and_reused_even_by_concurrent_starts(tmp_path, caplog) -> None:
    settings = {"EDC_DEV_SEAL": "1", "EDC_DATA_DIR": str(tmp_path / "data")}
    sources: list[Pkcs12KeySource] = []

    def start() -> None:
        sources.append(open_key_source(settings))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = open_key_source(settings)
    assert len(sources) == 4
    assert all(source.certificate == again.certificate for source in sources)
    assert NOT_QUALIFIED in again.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert (tmp_path / "data" / "dev-seal" / "dev-seal.p12").is_file()
    assert caplog.text.count("created a development eSeal") == 1
    assert "NOT QUALIFIED" in describe_key_source(settings)
