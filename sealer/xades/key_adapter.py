"""Present any :class:`~sealer.keys.KeySource` to signxml as a ``cryptography`` private key.

signxml signs by calling ``key.sign(...)`` on a ``cryptography`` private-key object. Handing it the key
itself would only work for keys held in memory; a PKCS#11 token never releases its key. These adapters
subclass ``cryptography``'s private-key interfaces and forward exactly the calls signxml makes
(RSA PKCS#1 v1.5 with SHA-256, ECDSA with SHA-256) to ``KeySource.sign``, so software keys, PKCS#12 files
and tokens all seal XML the same way. Everything else a private key could do (decrypt, export, key
agreement) is refused: the adapter is a signing handle, not a key.
"""
from __future__ import annotations

from typing import NoReturn, Self

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.padding import AsymmetricPadding, PKCS1v15
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from sealer.keys import KeySource, KeySourceError


def _refuse(what: str) -> NoReturn:
    raise KeySourceError(f"the XAdES signing adapter can only sign; {what} is not available")


def _require_sha256(algorithm: object) -> None:
    if isinstance(algorithm, Prehashed) or not isinstance(algorithm, hashes.SHA256):
        name = getattr(algorithm, "name", type(algorithm).__name__)
        raise KeySourceError(f"the eSeal key signs with SHA-256 only, not {name}")


class _SigningHandle:
    """What both adapters share: the certified key's size, no export, and copies that are the same handle.

    An adapter holds no key material, only the key source (perhaps a token session), so a copy
    has nothing of its own to duplicate and hands back the same adapter.
    """

    _public: rsa.RSAPublicKey | ec.EllipticCurvePublicKey

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refuse("exporting the key")

    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict) -> Self:
        return self


class RsaSigningAdapter(_SigningHandle, rsa.RSAPrivateKey):
    """An RSA 'private key' whose only ability is RSASSA-PKCS1-v1_5/SHA-256 through the key source."""

    def __init__(self, source: KeySource) -> None:
        public = source.certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey):
            raise KeySourceError("the eSeal certificate does not hold an RSA key")
        self._source = source
        self._public = public

    def sign(
        self,
        data: bytes,
        padding: AsymmetricPadding,
        algorithm: hashes.HashAlgorithm | Prehashed,
    ) -> bytes:
        _require_sha256(algorithm)
        if not isinstance(padding, PKCS1v15):
            raise KeySourceError(f"RSA padding {padding.name} is not used for XAdES seals")
        return self._source.sign(bytes(data), "RS256")

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    def decrypt(self, ciphertext: bytes, padding: AsymmetricPadding) -> bytes:
        _refuse("decryption")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        _refuse("exporting the key")


class EcSigningAdapter(_SigningHandle, ec.EllipticCurvePrivateKey):
    """A P-256 'private key' whose only ability is ECDSA/SHA-256 through the key source.

    ``KeySource.sign`` returns the raw ``r || s`` form; ``cryptography``'s interface (and so signxml)
    expects DER, which is re-encoded here. signxml turns it back into ``r || s`` for XML-DSig.
    """

    def __init__(self, source: KeySource) -> None:
        public = source.certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or not isinstance(public.curve, ec.SECP256R1):
            raise KeySourceError("the eSeal certificate does not hold a P-256 key")
        self._source = source
        self._public = public

    def sign(self, data: bytes, signature_algorithm: ec.EllipticCurveSignatureAlgorithm) -> bytes:
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise KeySourceError("only ECDSA signatures are used for XAdES seals")
        _require_sha256(signature_algorithm.algorithm)
        raw = self._source.sign(bytes(data), "ES256")
        if len(raw) != 64:
            raise KeySourceError(f"the key source returned a {len(raw)}-byte ECDSA signature, not 64")
        return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        _refuse("key agreement")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        _refuse("exporting the key")


def signing_adapter(source: KeySource) -> RsaSigningAdapter | EcSigningAdapter:
    """The adapter matching the key type of ``source``."""
    if source.key_type == "RSA":
        return RsaSigningAdapter(source)
    if source.key_type == "EC":
        return EcSigningAdapter(source)
    raise KeySourceError(f"key type {source.key_type!r} cannot seal XAdES (RSA or P-256 only)")
