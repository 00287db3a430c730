"""PAdES sealing and reading of PDFs with pyHanko, over this package's key sources."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from sealer.keys.base import KeySource

FIELD_NAME = "eSeal"
_MECHANISMS = {"RS256": "sha256_rsa", "ES256": "sha256_ecdsa"}


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))


class KeySourceSigner(signers.Signer):
    """A pyHanko signer whose signature values come from a :class:`KeySource`.

    JOSE signatures are what a key source makes: RS256 is exactly CMS ``sha256WithRSAEncryption`` over
    the signed attributes; ES256's raw ``r || s`` is re-encoded as the DER ``ECDSA-Sig-Value`` CMS wants.
    """

    def __init__(self, source: KeySource) -> None:
        self._source = source
        self._alg = source.default_alg
        chain = [_asn1(cert) for cert in source.chain]
        super().__init__(signing_cert=chain[0], cert_registry=SimpleCertificateStore.from_certs(chain),
                         signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": _MECHANISMS[self._alg]}))

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"the eSeal signs with SHA-256, not {digest_algorithm}")
        if dry_run:  # pyHanko sizes the signature container first
            return bytes(512)
        signature = self._source.sign(data, self._alg)
        if self._alg == "ES256":
            half = len(signature) // 2
            signature = encode_dss_signature(int.from_bytes(signature[:half]), int.from_bytes(signature[half:]))
        return signature


def seal_pdf(pdf: bytes, source: KeySource, *, tsa_url: str | None = None, reason: str | None = None,
             location: str | None = None, name: str | None = None) -> bytes:
    """``pdf`` with an invisible PAdES seal appended (an incremental update): B-T with ``tsa_url``, else B-B.

    Raises the key source's errors, and pyHanko's when the time-stamping authority cannot be reached.
    """
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason, location=location, name=name)
    timestamper = HTTPTimeStamper(tsa_url, timeout=30) if tsa_url else None
    out = io.BytesIO()
    signers.PdfSigner(metadata, signer=KeySourceSigner(source), timestamper=timestamper).sign_pdf(
        writer, output=out, existing_fields_only=False)
    return out.getvalue()


@dataclass
class PdfSealReport:
    """What a reader of the PDF needs to know about its seal."""

    sealed: bool
    intact: bool = False
    valid: bool = False
    signer: x509.Certificate | None = None
    timestamped: bool = False
    covers_whole_file: bool = False
    errors: list[str] = field(default_factory=list)


def verify_pdf(pdf: bytes, *, trust: list[x509.Certificate] | None = None) -> PdfSealReport:
    """pyHanko's validation of the PDF's (first) seal: integrity, signature, signer, time-stamp.

    ``trust``: anchors the signer must chain to; without them only integrity and the signature are
    judged (``valid`` then means cryptographically valid, not trusted).
    """
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    if not reader.embedded_signatures:
        return PdfSealReport(sealed=False, errors=["the PDF carries no seal"])
    embedded = reader.embedded_signatures[0]
    context = ValidationContext(trust_roots=[_asn1(c) for c in trust or []], allow_fetching=False)
    status = validate_pdf_signature(embedded, context if trust else None)
    signer = x509.load_der_x509_certificate(status.signing_cert.dump()) if status.signing_cert else None
    errors = [] if status.intact and status.valid else ["the seal does not match the document"]
    return PdfSealReport(
        sealed=True, intact=bool(status.intact), valid=bool(status.valid) and (status.trusted or not trust),
        signer=signer, timestamped=status.timestamp_validity is not None,
        covers_whole_file=status.coverage is not None and status.coverage.name == "ENTIRE_FILE", errors=errors)
