"""Certificate files as CAs and HSM vendors hand them out (PEM, one or many, or DER), for key sources.

HSM-based eSeals usually come as a key on the token plus certificate files from the CA's portal, so
the PKCS#11 key source and the key-source settings read them with the same rules, and name the file
in a :class:`~sealer.keys.base.KeySourceError` when it cannot be used.
"""
from __future__ import annotations

from pathlib import Path

from cryptography import x509

from sealer.certificates import parse_certificates
from sealer.keys.base import KeySourceError


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
