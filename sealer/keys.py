"""Key sources: where the organisation's eSeal private key lives, behind one small interface.

A seal is produced by whatever holds the key — a PKCS#12 file on disk, a PKCS#11 token or HSM — and the
signature formats (JAdES, XAdES) must not care which. Following pyHanko's layering, a ``KeySource`` only
knows how to *sign bytes with a named JOSE algorithm* and which certificate chain vouches for the key;
everything about document formats lives in :mod:`sealer.jades` and :mod:`sealer.xades`.

Signatures are returned in JOSE form (RFC 7518): RSA PKCS#1 v1.5 or PSS octets, and ECDSA as the raw
``r || s`` concatenation, which is also what XML-DSig 1.1 expects for ECDSA.
"""
from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12

RSA_ALGS = ("RS256", "PS256")
EC_ALGS = ("ES256",)
SUPPORTED_ALGS = RSA_ALGS + EC_ALGS


class KeySourceError(Exception):
    """The key could not be opened or used. Messages never contain PINs, passwords or key material."""


@dataclass(frozen=True)
class UnsupportedAlgorithm(KeySourceError):
    """Raised when an algorithm does not fit the key (e.g. ES256 with an RSA key)."""

    alg: str
    key_type: str

    def __str__(self) -> str:
        allowed = RSA_ALGS if self.key_type == "RSA" else EC_ALGS
        return f"algorithm {self.alg!r} cannot be used with an {self.key_type} key; use one of {allowed}"


class KeySource(abc.ABC):
    """A private key able to sign, with the certificate chain that identifies the sealing organisation."""

    @property
    @abc.abstractmethod
    def certificate(self) -> x509.Certificate:
        """The eSeal certificate of the signing key."""

    @property
    def chain(self) -> list[x509.Certificate]:
        """Leaf first, then intermediates (what goes into ``x5c``). Defaults to the leaf alone."""
        return [self.certificate]

    @property
    @abc.abstractmethod
    def key_type(self) -> str:
        """``"RSA"`` or ``"EC"``."""

    @property
    def default_alg(self) -> str:
        """The algorithm EDC itself uses for this key type."""
        return "RS256" if self.key_type == "RSA" else "ES256"

    def check_alg(self, alg: str) -> None:
        """Refuse an algorithm that does not match the key, before anything is signed."""
        allowed = RSA_ALGS if self.key_type == "RSA" else EC_ALGS
        if alg not in allowed:
            raise UnsupportedAlgorithm(alg, self.key_type)

    @abc.abstractmethod
    def sign(self, data: bytes, alg: str) -> bytes:
        """Sign ``data`` with JOSE algorithm ``alg`` and return the JOSE-form signature."""


class SoftwareKeySource(KeySource):
    """A key held in memory as a ``cryptography`` private key (loaded from a file or generated)."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
    ) -> None:
        if not isinstance(private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeySourceError("only RSA and EC (P-256) keys are supported for eSeals")
        if isinstance(private_key, ec.EllipticCurvePrivateKey) and not isinstance(
            private_key.curve, ec.SECP256R1
        ):
            raise KeySourceError(f"EC keys must be on P-256 for ES256, not {private_key.curve.name}")
        if private_key.public_key().public_numbers() != certificate.public_key().public_numbers():
            raise KeySourceError("the certificate does not belong to the private key")
        self._key = private_key
        self._certificate = certificate
        self._intermediates = list(intermediates)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self._certificate, *self._intermediates]

    @property
    def key_type(self) -> str:
        return "RSA" if isinstance(self._key, rsa.RSAPrivateKey) else "EC"

    def sign(self, data: bytes, alg: str) -> bytes:
        self.check_alg(alg)
        if isinstance(self._key, rsa.RSAPrivateKey):
            pad: padding.AsymmetricPadding
            if alg == "PS256":
                pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            else:
                pad = padding.PKCS1v15()
            return self._key.sign(data, pad, hashes.SHA256())
        der = self._key.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


class Pkcs12KeySource(SoftwareKeySource):
    """The eSeal key and chain from a PKCS#12 (.p12/.pfx) file, as most CAs deliver software seals."""

    def __init__(self, path: str | Path, password: str | bytes | None) -> None:
        path = Path(path)
        try:
            blob = path.read_bytes()
        except OSError as exc:
            raise KeySourceError(f"cannot read PKCS#12 file {path}: {exc.strerror}") from None
        secret = password.encode() if isinstance(password, str) else password
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(blob, secret)
        except ValueError:
            # cryptography's message can echo parsing details; keep ours generic and secret-free.
            raise KeySourceError(
                f"cannot open PKCS#12 file {path}: wrong password or not a PKCS#12 file"
            ) from None
        if key is None or cert is None:
            raise KeySourceError(f"PKCS#12 file {path} must contain a private key and its certificate")
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise KeySourceError(f"PKCS#12 file {path} holds a key type that cannot seal (RSA or P-256 only)")
        super().__init__(key, cert, _order_chain(cert, list(extra or [])))


def _order_chain(leaf: x509.Certificate, others: list[x509.Certificate]) -> list[x509.Certificate]:
    """Return intermediates in issuing order from the leaf upwards; self-signed roots are left out."""
    ordered: list[x509.Certificate] = []
    current = leaf
    remaining = [c for c in others if c.subject != c.issuer]
    while True:
        parent = next((c for c in remaining if c.subject == current.issuer), None)
        if parent is None:
            return ordered
        ordered.append(parent)
        remaining.remove(parent)
        current = parent


def __getattr__(name: str) -> object:
    """``Pkcs11KeySource`` and ``open_key_source``, importable from here as docs/architecture.md says.

    They live in :mod:`sealer.pkcs11_source` and :mod:`sealer.keys_config`, which import this module;
    resolving them lazily avoids the import cycle and keeps python-pkcs11 out of processes that never
    touch a token.
    """
    if name == "Pkcs11KeySource":
        from sealer.pkcs11_source import Pkcs11KeySource

        return Pkcs11KeySource
    if name == "open_key_source":
        from sealer.keys_config import open_key_source

        return open_key_source
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
