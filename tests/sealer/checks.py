"""Small assertions shared by the sealer tests."""
from __future__ import annotations

from sealer.findings import SignatureFindings
from sealer.validation import parse


def findings(data: bytes | dict) -> SignatureFindings:
    """What the format parser finds in ``data`` (no trust decision)."""
    return parse(data)


def intact(data: bytes | dict) -> bool:
    """The seal is well-formed and its signature and time-stamps check out (whoever made it)."""
    found = parse(data)
    return found.signature_intact and not found.failures
