"""HMAC request signing for the sidecar (scheme v1 of docs/architecture.md).

Written here rather than imported: adapters are independent of each other and of ``bridge``, so an
Open edX deployment installs only this package. The shared vector in tests/moodle/signing_vector.json
keeps all implementations in agreement.

Every request carries a fresh random ``X-EDC-Nonce``, signed as a fifth line of the message, so
identical requests in the same second (a page reload, a completion sent again after a timeout) sign
differently and the sidecar's replay check never refuses them.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def hmac_key(api_key: str) -> str:
    """The sidecar stores ``sha256_hex(api_key)`` and uses that hex text as the HMAC key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_nonce() -> str:
    """A fresh ``X-EDC-Nonce``: 128 random bits as 22 URL-safe base64 characters."""
    return secrets.token_urlsafe(16)


def signature(api_key: str, method: str, path: str, timestamp: int, body: bytes, nonce: str | None = None) -> str:
    """``v1=<hex>`` over METHOD, path with query (as sent), timestamp, the body's SHA-256 and the nonce if any."""
    lines = [method.upper(), path, str(timestamp), hashlib.sha256(body).hexdigest()]
    if nonce:
        lines.append(nonce)
    message = "\n".join(lines)
    digest = hmac.new(hmac_key(api_key).encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(source: str, api_key: str, method: str, path: str, body: bytes = b"",
                   timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The X-EDC-* headers; a fresh timestamp and nonce each call, since the sidecar refuses replays.

    Pass ``nonce=""`` to sign without a nonce (the original message, for a sidecar that predates it).
    """
    ts = int(time.time()) if timestamp is None else timestamp
    nonce = new_nonce() if nonce is None else nonce
    headers = {"X-EDC-Source": source, "X-EDC-Timestamp": str(ts),
               "X-EDC-Signature": signature(api_key, method, path, ts, body, nonce)}
    if nonce:
        headers["X-EDC-Nonce"] = nonce
    return headers
