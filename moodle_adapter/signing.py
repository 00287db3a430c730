"""HMAC request signing for LMS sources (the v1 scheme of docs/architecture.md).

Written here rather than imported from the sidecar because the adapter must run without the
``bridge`` package; a shared test vector keeps this signer, the PHP plugin's and the sidecar's
verifier in agreement.
"""
from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_VERSION = "v1"


def hmac_key(api_key: str) -> bytes:
    """The HMAC key is the hex SHA-256 of the API key, so the sidecar only ever stores the hash."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest().encode("ascii")


def string_to_sign(method: str, path: str, timestamp: int, body: bytes) -> bytes:
    """Join method, path (with query string, as sent), timestamp and the body's hash."""
    body_hash = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{body_hash}".encode()


def sign(api_key: str, method: str, path: str, timestamp: int, body: bytes) -> str:
    """Return the ``X-EDC-Signature`` value (``v1=<hex>``) for one request."""
    digest = hmac.new(hmac_key(api_key), string_to_sign(method, path, timestamp, body), hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def signed_headers(source: str, api_key: str, method: str, path: str, body: bytes,
                   timestamp: int | None = None) -> dict[str, str]:
    """All three headers a signed request carries; the timestamp defaults to now."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-EDC-Source": source,
        "X-EDC-Timestamp": str(ts),
        "X-EDC-Signature": sign(api_key, method, path, ts, body),
    }
