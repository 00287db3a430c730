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
from dataclasses import dataclass

from cryptography import x509

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
    def roots(self) -> list[x509.Certificate]:
        """Self-signed CA certificates that came with the key (a PKCS#12 bag, ``EDC_SEAL_CHAIN``): where
        the chain ends, for gathering the validation data of B-LT/B-LTA seals. Never put in ``x5c``."""
        return []

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
