"""The result of verifying a seal, shared by the JAdES and XAdES verifiers.

One dataclass for both formats so that callers (the sidecar, the CLI, ``bridge.verify``) can show a seal
check without knowing which signature syntax was used. Verifiers never raise for a bad seal: they fill
``errors`` with human-readable reasons, so one report can say everything that is wrong at once.
"""
from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sealer.certificates import CertificateSummary


@dataclass
class TimestampInfo:
    """An RFC 3161 timestamp found in (and checked against) the seal."""

    time: dt.datetime
    tsa: str | None
    imprint_valid: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"time": _iso(self.time), "tsa": self.tsa, "imprint_valid": self.imprint_valid}


@dataclass
class SealReport:
    """Outcome of a seal verification.

    ``signature_valid`` is only about cryptography and the JAdES/XAdES rules; ``trusted`` is about the
    chain to the given trust anchors (``None`` when none were given, because "not checked" must not read
    as "untrusted"). ``ok`` combines both with the absence of errors. ``warnings`` carry information that
    does not invalidate the seal, e.g. a certificate that has expired since the sealing time.
    """

    format: str
    signature_valid: bool = False
    certificate: CertificateSummary | None = None
    signing_time: dt.datetime | None = None
    timestamp: TimestampInfo | None = None
    trusted: bool | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    payload: bytes = b""
    algorithm: str | None = None
    level: str | None = None

    @property
    def ok(self) -> bool:
        """True when the signature is valid, nothing is wrong, and the chain is not known to be untrusted."""
        return self.signature_valid and not self.errors and self.trusted is not False

    def to_dict(self, *, include_payload: bool = False) -> dict[str, Any]:
        """A JSON-ready view. The payload is left out unless asked for: it may hold personal data."""
        out: dict[str, Any] = {
            "format": self.format,
            "ok": self.ok,
            "signature_valid": self.signature_valid,
            "algorithm": self.algorithm,
            "level": self.level,
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
            "signing_time": None if self.signing_time is None else _iso(self.signing_time),
            "timestamp": None if self.timestamp is None else self.timestamp.to_dict(),
            "trusted": self.trusted,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }
        if include_payload:
            out["payload"] = base64.b64encode(self.payload).decode("ascii")
        return out


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
