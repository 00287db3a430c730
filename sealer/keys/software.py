"""Keys held in memory: a ``cryptography`` private key, typically loaded from a PKCS#12 file."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12

from sealer.keys.base import KeySource, KeySourceError


class SoftwareKeySource(KeySource):
    """A key held in memory as a ``cryptography`` private key (loaded from a file or generated)."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        roots: Sequence[x509.Certificate] = (),
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
        self._roots = list(roots)

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def chain(self) -> list[x509.Certificate]:
        return [self._certificate, *self._intermediates]

    @property
    def roots(self) -> list[x509.Certificate]:
        return list(self._roots)

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
        extra = list(extra or [])
        super().__init__(key, cert, order_chain(cert, extra), [c for c in extra if c.subject == c.issuer])


def order_chain(leaf: x509.Certificate, others: list[x509.Certificate]) -> list[x509.Certificate]:
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
