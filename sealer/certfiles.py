"""Reading certificates from files as CAs and HSM vendors hand them out: PEM (one or many) or DER.

HSM-based eSeals usually come as a key on the token plus certificate files from the CA's portal, so
the PKCS#11 key source and the key-source settings both need to read them with the same rules; trust
anchors (``sealer.trust``) are parsed by the same rules too.
"""
from __future__ import annotations

from pathlib import Path

from cryptography import x509

from sealer.keys import KeySourceError


def parse_certificates(blob: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle, or the one certificate of DER bytes, in order.

    Raises ``ValueError`` when the bytes are neither; callers turn it into their own error type,
    naming the file.
    """
    if b"-----BEGIN CERTIFICATE-----" in blob:
        return x509.load_pem_x509_certificates(blob)
    return [x509.load_der_x509_certificate(blob)]


def read_certificates(path: str | Path) -> list[x509.Certificate]:
    """All certificates in a PEM bundle, or the single certificate of a DER file, in file order."""
    path = Path(path)
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise KeySourceError(f"cannot read certificate file {path}: {exc.strerror}") from None
    try:
        return parse_certificates(blob)
    except ValueError:
        raise KeySourceError(f"{path} is not a PEM or DER X.509 certificate file") from None


def read_certificate(path: str | Path) -> x509.Certificate:
    """The one certificate in ``path``; a bundle is refused because which entry is meant is unclear."""
    certificates = read_certificates(path)
    if len(certificates) != 1:
        raise KeySourceError(
            f"{path} holds {len(certificates)} certificates; give the eSeal certificate alone "
            "and the intermediates separately"
        )
    return certificates[0]
