"""Validation of seals: one entry point for every format, caller and output.

:func:`validate_seal` detects the format (JAdES JSON or XAdES XML), has the format's parser list what
the file shows about itself (:mod:`sealer.findings`), and turns that into an ETSI EN 319 102-1 verdict
(:mod:`.policy`): chains to the trust anchors (:mod:`.anchors`, :mod:`.chains`), revocation (OCSP and
CRL through pyhanko-certvalidator), proof of existence from trusted time-stamps (:mod:`.poe`). The
result (:mod:`.report`) never raises for a bad file.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography import x509

from sealer.findings import FORMAT_FAILURE, SignatureFindings
from sealer.jades.parse import parse_jades
from sealer.validation.anchors import TrustAnchors, TrustStoreError, load
from sealer.validation.policy import judge
from sealer.validation.report import INDETERMINATE, INVALID, VALID, SealValidation

__all__ = ["INDETERMINATE", "INVALID", "VALID", "SealValidation", "TrustAnchors", "TrustStoreError",
           "detect_format", "load", "validate_seal"]

_BOM = b"\xef\xbb\xbf"
Trust = TrustAnchors | str | Path | Sequence[x509.Certificate] | None


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
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "unknown"
    if isinstance(obj, dict) and ("signatures" in obj or ("protected" in obj and "signature" in obj)):
        return "JAdES"
    return "unsealed"


def parse(data: bytes | dict[str, Any]) -> SignatureFindings:
    """What the file shows about its seal, whatever its format (a JWS may be given parsed)."""
    if isinstance(data, dict):
        return parse_jades(data)
    if not isinstance(data, bytes | bytearray):
        found = SignatureFindings(format="unknown")
        found.fail(FORMAT_FAILURE, "the sealed credential must be given as bytes")
        return found
    data = bytes(data)
    kind = detect_format(data)
    if kind == "JAdES":
        return parse_jades(data)
    if kind == "XAdES":
        from sealer.xades.core import parse_xades  # imported here: XML support is optional for JSON users

        return parse_xades(data)
    found = SignatureFindings(format=kind)
    if kind == "unsealed":
        found.payload = data
        found.fail(FORMAT_FAILURE, "the file is JSON but carries no seal (no JAdES 'signatures'): it is an "
                                   "unsealed credential or another JSON document")
    else:
        found.fail(FORMAT_FAILURE, "the file is neither a JAdES seal (JSON) nor a XAdES seal (XML)")
    return found


def validate_seal(
    data: bytes | dict[str, Any], *, trust: Trust = None, at: dt.datetime | None = None, fetch: bool = True
) -> SealValidation:
    """Validate the seal of ``data``.

    ``trust``: anchors (see :func:`sealer.validation.anchors.load`); without them the verdict is at best
    indeterminate. ``at``: the validation time (default now). ``fetch``: whether OCSP responders and
    CRL servers named by the certificates may be asked (answers embedded in the seal are used first).
    """
    found = parse(data)
    try:
        anchors = None if trust is None else load(trust)
    except TrustStoreError as exc:
        result = judge(found, None, at=at, fetch=False)
        result.errors.append(f"the trust anchors cannot be used: {exc}")
        result.chain_trusted = False
        if result.verdict == VALID:
            result.verdict = INDETERMINATE
        result.sub_indication = result.sub_indication or "NO_CERTIFICATE_CHAIN_FOUND"
        return result
    return judge(found, anchors, at=at, fetch=fetch)
