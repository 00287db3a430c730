"""The signed agreement coming back: its PAdES signatures checked with pyHanko, and tied to the agreed
content.

Every embedded signature is validated (integrity, signature value, what the later revisions changed)
and, when trust anchors are configured (``EDC_VERIFY_TRUST``), its signer's chain at the validation
time. The upload is accepted only if every signature is intact, the last one covers the whole file,
no signed revision was changed beyond form filling afterwards, and the document's keywords carry the
agreement's id and content digest (the PDF this service made for that very content).
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

MAX_PDF_BYTES = 10 * 1024 * 1024


@dataclass
class SignatureCheck:
    """One signature as the register shows it."""

    field: str
    signer: str | None
    organisation: str | None
    organisation_identifier: str | None
    signed_at: str | None
    intact: bool
    trusted: bool | None
    covers_whole_file: bool
    modification: str | None
    timestamped: bool


@dataclass
class UploadCheck:
    accepted: bool
    signatures: list[SignatureCheck] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def signatures_json(self) -> list[dict[str, Any]]:
        return [asdict(s) for s in self.signatures]


def anchors(configured: str | None) -> list[x509.Certificate]:
    """Certificates from a PEM/DER file or a folder of them (``EDC_VERIFY_TRUST``); none when unset."""
    if not configured:
        return []
    path = Path(configured)
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    found = []
    for file in files:
        data = file.read_bytes()
        try:
            found.extend(x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                         else [x509.load_der_x509_certificate(data)])
        except ValueError:
            continue  # not a certificate (the trusted-list cache keeps other files there)
    return found


def _name(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str | None:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def check(pdf: bytes, expected_keyword: str, *, trust: list[x509.Certificate], at: dt.datetime) -> UploadCheck:
    """What the signed PDF proves; ``accepted`` only when it is the agreed document, intact and signed."""
    result = UploadCheck(accepted=False)
    if not pdf.startswith(b"%PDF-"):
        result.errors.append("the file is not a PDF")
        return result
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
        info = reader.trailer_view.get("/Info")
        info = info.get_object() if info is not None else None
        keywords = str(info.get("/Keywords", "")) if info is not None else ""
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        result.errors.append(f"the PDF cannot be read ({type(exc).__name__})")
        return result
    if expected_keyword not in keywords.split():
        result.errors.append("this PDF is not the agreement as agreed (its content digest differs: download the "
                             "agreement's PDF again, sign that one)")
    if not signatures:
        result.errors.append("the PDF carries no signature")
        return result
    context = ValidationContext(trust_roots=[asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in trust],
                                moment=at, allow_fetching=False) if trust else None
    for index, embedded in enumerate(signatures):
        try:
            status = validate_pdf_signature(embedded, context)
        except Exception as exc:  # a malformed signature dictionary or CMS blob: refused, never a 500  # noqa: BLE001
            result.errors.append(f"signature {index + 1} cannot be validated ({type(exc).__name__})")
            continue
        cert = x509.load_der_x509_certificate(status.signing_cert.dump()) if status.signing_cert else None
        level = status.modification_level
        reported = status.signer_reported_dt
        entry = SignatureCheck(
            field=embedded.field_name, signer=_name(cert, NameOID.COMMON_NAME) if cert else None,
            organisation=_name(cert, NameOID.ORGANIZATION_NAME) if cert else None,
            organisation_identifier=_name(cert, NameOID.ORGANIZATION_IDENTIFIER) if cert else None,
            signed_at=reported.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if reported else None,
            intact=bool(status.intact and status.valid), trusted=bool(status.trusted) if context else None,
            covers_whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE",
            modification=level.name if level is not None else None,
            timestamped=status.timestamp_validity is not None)
        result.signatures.append(entry)
        if not entry.intact:
            result.errors.append(f"signature {index + 1} ({entry.signer or 'unknown signer'}) is not intact")
        if level is not None and level > ModificationLevel.FORM_FILLING:
            result.errors.append(f"the document was changed after signature {index + 1}")
    if result.signatures and not result.signatures[-1].covers_whole_file:
        result.errors.append("the last signature does not cover the whole file (content was added after it)")
    result.accepted = not result.errors
    return result
