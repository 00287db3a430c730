"""Small JOSE helpers (RFC 7515/7518) shared by the JAdES sealer and verifier.

Kept apart from :mod:`sealer.jades` so that the format logic reads as the ETSI TS 119 182-1 steps and the
byte-level details (base64url without padding, the JWS algorithm table, ECDSA signature shape) live in
one place that is easy to audit.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


class JoseFormatError(ValueError):
    """A JOSE structure is malformed. The message names the offending member."""


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """base64url without padding, as RFC 7515 section 2 requires."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Strict base64url decoding; ``what`` names the member in the error message."""
    if not isinstance(text, str):
        raise JoseFormatError(f"{what} must be a base64url string")
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise JoseFormatError(f"{what} is not unpadded base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64_decode(text: Any, what: str) -> bytes:
    """Standard base64 (used by x5c and the ETSI ``val`` members), strictly validated."""
    if not isinstance(text, str):
        raise JoseFormatError(f"{what} must be a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise JoseFormatError(f"{what} is not valid base64") from None


def compact_json(value: Any) -> bytes:
    """JSON without whitespace, UTF-8, as EDC (DSS) writes its JOSE headers."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class JwsAlgorithm:
    """One row of the RFC 7518 table for the asymmetric algorithms a seal may use."""

    name: str
    key_type: str  # "RSA" or "EC"
    hash: type[hashes.HashAlgorithm]
    pss: bool = False
    curve: type[ec.EllipticCurve] | None = None


_ALGS = {
    a.name: a
    for a in (
        JwsAlgorithm("RS256", "RSA", hashes.SHA256),
        JwsAlgorithm("RS384", "RSA", hashes.SHA384),
        JwsAlgorithm("RS512", "RSA", hashes.SHA512),
        JwsAlgorithm("PS256", "RSA", hashes.SHA256, pss=True),
        JwsAlgorithm("PS384", "RSA", hashes.SHA384, pss=True),
        JwsAlgorithm("PS512", "RSA", hashes.SHA512, pss=True),
        JwsAlgorithm("ES256", "EC", hashes.SHA256, curve=ec.SECP256R1),
        JwsAlgorithm("ES384", "EC", hashes.SHA384, curve=ec.SECP384R1),
        JwsAlgorithm("ES512", "EC", hashes.SHA512, curve=ec.SECP521R1),
    )
}
ALLOWED_ALGS = tuple(_ALGS)


def algorithm(name: Any) -> JwsAlgorithm:
    """Look up an allowed algorithm. ``none`` and the HMAC family are refused: a seal needs a public key."""
    if not isinstance(name, str) or name not in _ALGS:
        raise JoseFormatError(f"alg {name!r} is not allowed for a seal; allowed: {', '.join(ALLOWED_ALGS)}")
    return _ALGS[name]


def verify_signature(alg: JwsAlgorithm, public_key: Any, signature: bytes, signing_input: bytes) -> bool:
    """Check a JOSE-form signature. Returns False (never raises) for a wrong signature or key mismatch."""
    try:
        if alg.key_type == "RSA":
            if not isinstance(public_key, rsa.RSAPublicKey):
                return False
            pad: padding.AsymmetricPadding = (
                padding.PSS(mgf=padding.MGF1(alg.hash()), salt_length=alg.hash.digest_size)
                if alg.pss
                else padding.PKCS1v15()
            )
            public_key.verify(signature, signing_input, pad, alg.hash())
            return True
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or alg.curve is None:
            return False
        if not isinstance(public_key.curve, alg.curve):
            return False
        size = (public_key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        public_key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(alg.hash()))
        return True
    except InvalidSignature:
        return False
