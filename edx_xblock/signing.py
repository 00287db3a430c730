"""HMAC request signing for the sidecar (scheme v1 of docs/architecture.md).

Written here rather than imported: adapters are independent of each other and of ``bridge``, so an
Open edX deployment installs only this package. The shared vector in tests/moodle/signing_vector.json
keeps all implementations in agreement.
"""
from __future__ import annotations

import hashlib
import hmac
import time


def hmac_key(api_key: str) -> str:
    """The sidecar stores ``sha256_hex(api_key)`` and uses that hex text as the HMAC key."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def signature(api_key: str, method: str, path: str, timestamp: int, body: bytes) -> str:
    """``v1=<hex>`` over METHOD, path with query (as sent), timestamp and the body's SHA-256."""
    message = "\n".join((method.upper(), path, str(timestamp), hashlib.sha256(body).hexdigest()))
    digest = hmac.new(hmac_key(api_key).encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"v1={digest}"


def signed_headers(source: str, api_key: str, method: str, path: str, body: bytes = b"",
                   timestamp: int | None = None) -> dict[str, str]:
    """The three X-EDC-* headers; a fresh timestamp each call, since the sidecar refuses replays."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {"X-EDC-Source": source, "X-EDC-Timestamp": str(ts),
            "X-EDC-Signature": signature(api_key, method, path, ts, body)}
