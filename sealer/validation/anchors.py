"""Trust anchors: what a seal's certificate and a time-stamp's TSA must chain to.

The operator chooses them: a file or folder of CA certificates (PEM or DER, one or many per file), e.g.
the development CA, or the EU trusted lists checked and cached by ``edc-bridge trust update``
(:mod:`sealer.validation.trusted_lists`). Without anchors nothing is ever called valid.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509

from sealer.certificates import parse_certificates

_CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


class TrustStoreError(Exception):
    """The trust anchors could not be loaded. The message names the file or directory."""


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


@dataclass(frozen=True)
class TrustAnchors:
    """What seals and time-stamps must chain to.

    ``seal_anchors``: CA certificates for sealing certificates; ``tsa_anchors``: for time-stamping
    authorities (the same certificates when the operator gives a folder; the QTST services when they
    come from EU trusted lists). ``registry`` (a pyHanko ``TSPRegistry``) is present when the anchors
    come from trusted lists: it answers whether a seal is qualified.
    """

    seal_anchors: tuple[x509.Certificate, ...]
    tsa_anchors: tuple[x509.Certificate, ...]
    source: str
    registry: Any = None

    @classmethod
    def from_certificates(cls, certs: Sequence[x509.Certificate], source: str = "certificates") -> TrustAnchors:
        return cls(tuple(certs), tuple(certs), source)


def load(location: str | Path | Sequence[x509.Certificate] | TrustAnchors) -> TrustAnchors:
    """Anchors from certificates, a certificate file or folder, or a folder of EU trusted lists written
    by ``edc-bridge trust update``."""
    if isinstance(location, TrustAnchors):
        return location
    if not isinstance(location, str | Path):
        return TrustAnchors.from_certificates(list(location))
    path = Path(location)
    from sealer.validation import trusted_lists  # here: pyHanko's list parser loads only when used

    if trusted_lists.is_cache(path):
        return trusted_lists.anchors_from_cache(path)
    if path.is_file() and path.suffix.lower() == ".xml":
        raise TrustStoreError(
            f"{path} is a trusted list file, whose signature is not checked here: run 'edc-bridge trust "
            "update' (it checks the EU lists' signatures) and give the folder it writes"
        )
    return TrustAnchors.from_certificates(load_trust_anchors(path), str(path))

