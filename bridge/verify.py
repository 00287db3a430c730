"""Verify a sealed credential end to end: the seal (``sealer``) and the content (ELM shapes).

A receiving institution asks two questions of a file: *is the seal genuine and whose is it*, and *is
this a well-formed European Digital Credential, and what does it attest*. The first is answered by
:func:`sealer.validation.verify_seal`, which knows nothing about ELM; this module adds the second (offline
SHACL conformance with the official shapes, and a plain summary for recognition), so the CLI, the
sidecar's API and its verification page all give the same verdict.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.elm.conformance import shacl_validate
from bridge.elm.summary import summarise
from sealer.validation.detect import verify_seal


@dataclass
class VerificationReport:
    """The seal report plus content conformance and the credential's summary.

    ``shacl_conforms`` is ``None`` for legacy XML credentials (ELM v2: the v3 shapes do not apply) and
    when the payload could not be read as JSON at all.
    """

    seal: dict[str, Any]
    shacl_conforms: bool | None
    shacl_messages: list[str] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Seal valid (and trusted when anchors were given) and the content conforms."""
        return bool(self.seal.get("ok")) and self.shacl_conforms is not False and not self.errors

    def to_dict(self) -> dict[str, Any]:
        seal = self.seal
        return {
            "ok": self.ok,
            "format": seal.get("format"),
            "signature_valid": seal.get("signature_valid"),
            "algorithm": seal.get("algorithm"),
            "level": seal.get("level"),
            "certificate": seal.get("certificate"),
            "signing_time": seal.get("signing_time"),
            "timestamp": seal.get("timestamp"),
            "trusted": seal.get("trusted"),
            "shacl_conforms": self.shacl_conforms,
            "shacl_messages": self.shacl_messages,
            "errors": [*seal.get("errors", []), *self.errors],
            "warnings": seal.get("warnings", []),
            "summary": self.summary,
        }


def verify_credential(
    data: bytes, *, trust_dir: str | Path | None = None, lang: str = "en"
) -> VerificationReport:
    """Check the seal, then the payload's conformance, and summarise it in ``lang``."""
    seal = verify_seal(data, trust_dir=trust_dir)
    seal_dict = seal.to_dict()
    if seal.format == "XAdES":
        return VerificationReport(seal=seal_dict, shacl_conforms=None)
    if seal.format not in ("JAdES", "unsealed") or not seal.payload:
        return VerificationReport(seal=seal_dict, shacl_conforms=None)
    try:
        credential = json.loads(seal.payload)
    except (ValueError, UnicodeDecodeError):
        return VerificationReport(
            seal=seal_dict, shacl_conforms=False, errors=["the sealed payload is not JSON text"]
        )
    except RecursionError:  # hostile nesting: a clear refusal, not a crash
        return VerificationReport(
            seal=seal_dict, shacl_conforms=False, errors=["the sealed payload is nested too deeply"]
        )
    if not isinstance(credential, dict):
        return VerificationReport(
            seal=seal_dict, shacl_conforms=False, errors=["the sealed payload is not a JSON object"]
        )
    conformance = shacl_validate(credential)
    return VerificationReport(
        seal=seal_dict,
        shacl_conforms=conformance.conforms,
        shacl_messages=conformance.messages,
        summary=summarise(credential, lang=lang),
    )
