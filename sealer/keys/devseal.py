"""A development eSeal: a throwaway CA and an eSeal certificate shaped like a real one.

Newcomers and tests need to seal credentials before their organisation has bought a qualified eSeal.
The certificate carries what EDC reads from real seals — ``organizationIdentifier`` (OID 2.5.4.97, e.g.
``VATFR-12345678901``), organisation name and country — but it is issued by a self-signed CA whose name
and the leaf's common name say plainly that it is NOT qualified, and it has no QC statements, so no
verifier relying on the EU trusted lists will ever accept it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOT_QUALIFIED = "dev, NOT QUALIFIED"
# ETSI EN 319 412-1 semantics identifier: 3 letters, 2-letter country, hyphen, identifier.
ORG_ID_PATTERN = re.compile(r"^(VAT|NTR|PSD|LEI|[A-Z]{2}:)[A-Z]{2}-\S+$")


@dataclass(frozen=True)
class DevSeal:
    """Files of a generated development seal."""

    pkcs12_path: Path
    password: str
    ca_certificate_path: Path
    certificate_path: Path


def _name(*attrs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attrs])


def _common_name(organisation: str) -> str:
    """X.520 caps common names at 64 characters; keep the 'not qualified' marker whole."""
    suffix = f" eSeal ({NOT_QUALIFIED})"
    return organisation[: 64 - len(suffix)].rstrip() + suffix


def is_dev_seal(certificate: x509.Certificate) -> bool:
    """Whether ``certificate`` is a development seal made here (its common name says NOT QUALIFIED)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return any(NOT_QUALIFIED in str(attr.value) for attr in names)


def _new_key(key_type: str) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if key_type == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "EC":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"key_type must be 'RSA' or 'EC', not {key_type!r}")


def create_dev_seal(
    directory: str | Path,
    *,
    organisation: str = "EDC Bridge Demo University",
    organization_identifier: str = "VATFR-00000000000",
    country: str = "FR",
    key_type: str = "RSA",
    password: str = "dev-seal",  # noqa: S107 - protects a throwaway development key only
    valid_days: int = 825,
    now: dt.datetime | None = None,
) -> DevSeal:
    """Create ``dev-seal.p12``, ``dev-ca.pem`` and ``dev-seal.pem`` in ``directory``.

    The CA certificate is written separately so it can be put in a ``--trust`` directory: verification
    then exercises the same chain-building path as with a real trust list.
    """
    if not ORG_ID_PATTERN.match(organization_identifier):
        raise ValueError(
            "organization_identifier must follow ETSI EN 319 412-1, "
            "e.g. 'VATFR-12345678901' or 'NTRBE-0123456789'"
        )
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as 'FR'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = now or dt.datetime.now(dt.UTC)
    start = now - dt.timedelta(days=1)

    ca_key = _new_key(key_type)
    ca_name = _name(
        (NameOID.COUNTRY_NAME, country),
        (NameOID.ORGANIZATION_NAME, organisation),
        (NameOID.COMMON_NAME, f"EDC Bridge CA ({NOT_QUALIFIED})"),
    )
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days + 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    seal_key = _new_key(key_type)
    seal_cert = (
        x509.CertificateBuilder()
        .subject_name(
            _name(
                (NameOID.COUNTRY_NAME, country),
                (NameOID.ORGANIZATION_NAME, organisation),
                (NameOID.ORGANIZATION_IDENTIFIER, organization_identifier),
                (NameOID.COMMON_NAME, _common_name(organisation)),
            )
        )
        .issuer_name(ca_name)
        .public_key(seal_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(seal_key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    p12_path = directory / "dev-seal.p12"
    blob = pkcs12.serialize_key_and_certificates(
        name=b"dev-seal",
        key=seal_key,
        cert=seal_cert,
        cas=[ca_cert],
        encryption_algorithm=serialization.BestAvailableEncryption(password.encode()),
    )
    _write_private(p12_path, blob)
    ca_path = directory / "dev-ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path = directory / "dev-seal.pem"
    cert_path.write_bytes(seal_cert.public_bytes(serialization.Encoding.PEM))
    return DevSeal(p12_path, password, ca_path, cert_path)


def _write_private(path: Path, data: bytes) -> None:
    """Write a key file readable by its owner only, replacing any earlier one atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.touch(mode=0o600, exist_ok=True)
    tmp.chmod(0o600)
    tmp.write_bytes(data)
    tmp.replace(path)
