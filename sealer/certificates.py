"""Certificate facts a seal report and a JAdES header need: who sealed, and how the certificate is named.

EDC identifies the sealing organisation by the certificate's ``organizationIdentifier`` (OID 2.5.4.97,
ETSI EN 319 412-1, e.g. ``VATES-A00000000``); verifiers show it next to the organisation name. The JAdES
``kid`` and ``x5t#S256`` header values are derived here too, because both are pure functions of the
certificate and must be computed identically when sealing and verifying.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
from dataclasses import dataclass
from typing import Any

from asn1crypto import core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from sealer.jose import b64url_encode


def parse_certificates(blob: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, or the one certificate of DER bytes, in order.

    Raises ``ValueError`` when the bytes are neither; callers turn it into their own error type,
    naming the file.
    """
    if b"-----BEGIN CERTIFICATE-----" in blob:
        return x509.load_pem_x509_certificates(blob)
    return [x509.load_der_x509_certificate(blob)]


@dataclass
class CertificateSummary:
    """What a reader needs to know about the sealing certificate (see :mod:`sealer.certificates`)."""

    subject: str
    organization_identifier: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    issuer: str
    organization_name: str | None = None
    country: str | None = None
    serial_number: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "organization_identifier": self.organization_identifier,
            "organization_name": self.organization_name,
            "country": self.country,
            "issuer": self.issuer,
            "serial_number": None if self.serial_number is None else format(self.serial_number, "x"),
            "not_before": iso_utc(self.not_before),
            "not_after": iso_utc(self.not_after),
        }



class IssuerSerial(core.Sequence):
    """RFC 5035 IssuerSerial: the structure whose DER, base64-encoded, EDC puts in the JAdES ``kid``."""

    _fields = [("issuer", asn1_x509.GeneralNames), ("serial_number", core.Integer)]


@functools.lru_cache(maxsize=512)
def der(cert: x509.Certificate) -> bytes:
    """The certificate's DER (kept: chain checks key their answers by it, several times per seal)."""
    return cert.public_bytes(Encoding.DER)


@functools.lru_cache(maxsize=512)
def load_der(data: bytes) -> x509.Certificate:
    """A DER certificate, parsed once per exact byte string: the credentials of one issuer all carry the
    same chain (x5c, xVals), and the parsed object is immutable. Raises ValueError like cryptography."""
    return x509.load_der_x509_certificate(data)


@functools.lru_cache(maxsize=64)
def x5t_s256(cert: x509.Certificate) -> str:
    """RFC 7515 ``x5t#S256``: base64url SHA-256 thumbprint of the DER certificate."""
    return b64url_encode(hashlib.sha256(der(cert)).digest())


@functools.lru_cache(maxsize=64)
def issuer_serial_der(cert: x509.Certificate) -> bytes:
    """DER IssuerSerial of ``cert``, keeping the issuer name's original encoding byte for byte."""
    issuer = asn1_x509.Name.load(cert.issuer.public_bytes())
    value = IssuerSerial(
        {
            "issuer": asn1_x509.GeneralNames([asn1_x509.GeneralName(name="directory_name", value=issuer)]),
            "serial_number": cert.serial_number,
        }
    )
    return value.dump()


@functools.lru_cache(maxsize=64)
def kid_for(cert: x509.Certificate) -> str:
    """The ``kid`` value EDC writes: standard base64 of the DER IssuerSerial (cached: one seal key, many seals)."""
    return base64.b64encode(issuer_serial_der(cert)).decode("ascii")


def _attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if not values:
        return None
    value = values[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def summarise(cert: x509.Certificate) -> CertificateSummary:
    """Subject, organisation identifier and validity of a sealing certificate, for reports."""
    return CertificateSummary(
        subject=cert.subject.rfc4514_string(),
        organization_identifier=_attr(cert.subject, NameOID.ORGANIZATION_IDENTIFIER),
        organization_name=_attr(cert.subject, NameOID.ORGANIZATION_NAME),
        country=_attr(cert.subject, NameOID.COUNTRY_NAME),
        issuer=cert.issuer.rfc4514_string(),
        serial_number=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def iso_utc(value: dt.datetime) -> str:
    """``YYYY-MM-DDThh:mm:ssZ``, the one time format of reports."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
