"""HMAC request signing for LMS sources (the v1 scheme of docs/architecture.md).

Written here rather than imported from the sidecar because the adapter must run without the
``bridge`` package; a shared test vector keeps this signer, the PHP plugin's and the sidecar's
verifier in agreement.

Every request carries a fresh random ``X-EDC-Nonce`` (signed as a fifth line of the message), so two
identical requests in the same second still sign differently and the sidecar's replay check never
refuses a legitimate repeat.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_VERSION = "v1"


def hmac_key(api_key: str) -> bytes:
    """The HMAC key is the hex SHA-256 of the API key, so the sidecar only ever stores the hash."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest().encode("ascii")


def new_nonce() -> str:
    """A fresh ``X-EDC-Nonce``: 128 random bits, 22 URL-safe base64 characters."""
    return secrets.token_urlsafe(16)


def string_to_sign(method: str, path: str, timestamp: int, body: bytes, nonce: str | None = None) -> bytes:
    """Join method, path (with query string, as sent), timestamp, the body's hash and the nonce if any."""
    body_hash = hashlib.sha256(body).hexdigest()
    message = f"{method.upper()}\n{path}\n{timestamp}\n{body_hash}"
    if nonce:
        message += f"\n{nonce}"
    return message.encode()


def sign(api_key: str, method: str, path: str, timestamp: int, body: bytes, nonce: str | None = None) -> str:
    """Return the ``X-EDC-Signature`` value (``v1=<hex>``) for one request."""
    digest = hmac.new(hmac_key(api_key), string_to_sign(method, path, timestamp, body, nonce), hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def signed_headers(source: str, api_key: str, method: str, path: str, body: bytes,
                   timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The headers a signed request carries; the timestamp defaults to now.

    ``nonce`` defaults to a fresh random one; pass ``""`` to sign without a nonce (the original
    four-line message, for a sidecar that predates ``X-EDC-Nonce``).
    """
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = new_nonce() if nonce is None else nonce
    headers = {
        "X-EDC-Source": source,
        "X-EDC-Timestamp": str(ts),
        "X-EDC-Signature": sign(api_key, method, path, ts, body, nonce),
    }
    if nonce:
        headers["X-EDC-Nonce"] = nonce
    return headers
