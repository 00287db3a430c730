"""Chain validation of sealing certificates against trust anchors, with pyhanko-certvalidator.

The anchors are whatever the operator trusts: a directory of CA certificates (PEM or DER, one or many
per file), e.g. the development CA, or a bundle extracted from the EU trusted lists. Revocation is
checked in soft-fail mode without fetching, because this service must work offline: revocation data
embedded in a seal is used when present, and its absence is not held against the seal.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError

from sealer.certificates import parse_certificates
from sealer.findings import SealReport

_CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


class TrustStoreError(Exception):
    """The trust anchors could not be loaded. The message names the file or directory."""


@dataclass(frozen=True)
class ChainResult:
    trusted: bool
    reason: str | None = None
    path: tuple[str, ...] = ()


def load_trust_anchors(location: str | Path) -> list[x509.Certificate]:
    """Read anchors from a certificate file or from every *.pem/*.crt/*.cer/*.der file of a directory."""
    path = Path(location)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _CERT_SUFFIXES)
        if not files:
            raise TrustStoreError(f"trust directory {path} contains no .pem/.crt/.cer/.der certificates")
    elif path.is_file():
        files = [path]
    else:
        raise TrustStoreError(f"trust anchors {path} do not exist")
    anchors: list[x509.Certificate] = []
    for file in files:
        try:
            blob = file.read_bytes()
        except OSError as exc:
            raise TrustStoreError(f"cannot read trust anchor {file}: {exc.strerror}") from None
        try:
            anchors.extend(parse_certificates(blob))
        except ValueError:
            raise TrustStoreError(f"{file} is not a PEM or DER X.509 certificate file") from None
    return anchors


def _asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def validate_chain(
    leaf: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    moment: dt.datetime | None = None,
    crls: Iterable[bytes] = (),
    ocsps: Iterable[bytes] = (),
) -> ChainResult:
    """Is there a valid path from ``leaf`` to one of ``anchors`` at ``moment`` (default: now)?"""
    if not anchors:
        return ChainResult(False, "no trust anchors were given")
    context = ValidationContext(
        trust_roots=[_asn1(c) for c in anchors],
        other_certs=[_asn1(c) for c in intermediates],
        moment=(moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        allow_fetching=False,
        revocation_mode="soft-fail",
        crls=list(crls),
        ocsps=list(ocsps),
    )
    validator = CertificateValidator(_asn1(leaf), validation_context=context)
    try:
        path = asyncio.run(validator.async_validate_path())
    except PathBuildingError:
        return ChainResult(False, "no chain from the certificate to any trust anchor")
    except (PathValidationError, ValidationError) as exc:
        return ChainResult(False, str(exc))
    return ChainResult(True, None, tuple(c.subject.human_friendly for c in path))


def check_report_trust(
    report: SealReport,
    leaf: x509.Certificate,
    intermediates: list[x509.Certificate],
    trust_roots: Sequence[x509.Certificate] | str | Path,
    moment: dt.datetime,
    crls: list[bytes],
    ocsps: list[bytes],
) -> None:
    """Set ``report.trusted`` (and an error when not trusted) for either signature format.

    JAdES and XAdES carry their chain and revocation data differently, but judge it the same way:
    anchors from a file, folder or list, the path built at ``moment`` (the timestamp's time when
    there is one, else the claimed signing time).
    """
    try:
        anchors = load_trust_anchors(trust_roots) if isinstance(trust_roots, str | Path) else list(trust_roots)
    except TrustStoreError as exc:
        report.trusted = False
        report.errors.append(str(exc))
        return
    result = validate_chain(leaf, anchors=anchors, intermediates=intermediates, moment=moment, crls=crls,
                            ocsps=ocsps)
    report.trusted = result.trusted
    if not result.trusted:
        report.errors.append(f"certificate chain not trusted: {result.reason}")
