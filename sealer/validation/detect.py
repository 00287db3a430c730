"""One entry point to check any sealed credential: detects JAdES JSON or XAdES XML and verifies it.

Callers (CLI, sidecar, ``bridge.verify``) get a :class:`SealReport` whatever the input, including
input that is not sealed at all (an unsealed JSON-LD credential, or a file that is neither JSON nor
XML): such input yields a report with ``signature_valid`` False and an error that says what was found,
rather than an exception, so a user uploading the wrong file gets an answer and never a traceback.
"""
from __future__ import annotations

import json
from pathlib import Path

from sealer.findings import SealReport
from sealer.jades import verify_jades

__all__ = ["SealReport", "detect_format", "verify_seal"]

_BOM = b"\xef\xbb\xbf"


def detect_format(data: bytes) -> str:
    """``"JAdES"``, ``"XAdES"``, ``"unsealed"`` (JSON without a JWS) or ``"unknown"``."""
    head = data[len(_BOM):] if data.startswith(_BOM) else data
    head = head.lstrip()
    if head.startswith(b"<"):
        return "XAdES"
    if not head.startswith(b"{"):
        return "unknown"
    try:
        obj = json.loads(head)
    except (ValueError, UnicodeDecodeError):
        return "unknown"
    if isinstance(obj, dict) and ("signatures" in obj or ("protected" in obj and "signature" in obj)):
        return "JAdES"
    return "unsealed"


def verify_seal(data: bytes, *, trust_dir: str | Path | None = None) -> SealReport:
    """Verify a sealed credential file. ``trust_dir``: CA certificates (file or directory) to trust."""
    if not isinstance(data, bytes | bytearray):
        return SealReport(format="unknown", errors=["the sealed credential must be given as bytes"])
    data = bytes(data)
    kind = detect_format(data)
    if kind == "JAdES":
        body = data[len(_BOM):] if data.startswith(_BOM) else data
        return verify_jades(body, trust_roots=trust_dir)
    if kind == "XAdES":
        from sealer.xades import verify_xades  # imported here: XML support is optional for JSON users

        return verify_xades(data, trust_roots=trust_dir)
    if kind == "unsealed":
        return SealReport(
            format="unsealed",
            payload=data,
            errors=["the file is JSON but carries no seal (no JAdES 'signatures'): "
                    "it is an unsealed credential or another JSON document"],
        )
    return SealReport(
        format="unknown",
        errors=["the file is neither a JAdES seal (JSON) nor a XAdES seal (XML)"],
    )
