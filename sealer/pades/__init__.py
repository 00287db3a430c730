"""PAdES: seal a PDF with the organisation's eSeal, and read a sealed PDF's seal back.

The learner's PDF is sealed with the same key source as the credential (PKCS#12 file or PKCS#11
token), through pyHanko: :class:`KeySourceSigner` adapts a :class:`~sealer.keys.base.KeySource`
(which signs bytes with a JOSE algorithm) to pyHanko's ``Signer`` (which wants CMS signature
values). PAdES B-B without a time-stamping authority, B-T with one (an RFC 3161 signature
time-stamp from ``tsa_url``).
"""
from sealer.pades.core import KeySourceSigner, PdfSealReport, seal_pdf, verify_pdf

__all__ = ["KeySourceSigner", "PdfSealReport", "seal_pdf", "verify_pdf"]
