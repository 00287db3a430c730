"""The result of validating a seal: an ETSI EN 319 102-1 indication with the facts behind it.

``verdict`` is ``valid`` (TOTAL-PASSED), ``indeterminate`` or ``invalid`` (TOTAL-FAILED); a
``sub_indication`` says why when it is not valid (EN 319 102-1 5.1.3, the names the EU's DSS uses).
:meth:`SealValidation.to_dict` is the ``seal`` part of the versioned verification report
(docs/verification-report.md).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sealer.certificates import CertificateSummary, iso_utc, summarise
from sealer.findings import SignatureFindings

VALID = "valid"
INDETERMINATE = "indeterminate"
INVALID = "invalid"
INDICATIONS = {VALID: "TOTAL_PASSED", INDETERMINATE: "INDETERMINATE", INVALID: "TOTAL_FAILED"}


@dataclass(frozen=True)
class TimestampReport:
    """A time-stamp of the seal and whether it proves anything (its TSA chains to the anchors)."""

    kind: str
    time: dt.datetime | None
    tsa: str | None
    covers_data: bool | None
    trusted: bool | None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "time": None if self.time is None else iso_utc(self.time), "tsa": self.tsa,
                "covers_data": self.covers_data, "trusted": self.trusted, "problem": self.problem}


@dataclass
class SealValidation:
    """Verdict and facts of one seal validation."""

    findings: SignatureFindings
    verdict: str = INVALID
    sub_indication: str | None = None
    validation_time: dt.datetime | None = None
    anchors: str | None = None
    chain_trusted: bool | None = None
    chain: list[str] = field(default_factory=list)
    proof_of_existence: dt.datetime | None = None
    timestamps: list[TimestampReport] = field(default_factory=list)
    revocation: dict[str, Any] = field(default_factory=lambda: {"status": "not_checked"})
    qualification: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == VALID

    @property
    def payload(self) -> bytes:
        return self.findings.payload

    @property
    def format(self) -> str:
        return self.findings.format

    @property
    def level(self) -> str | None:
        return self.findings.level

    @property
    def certificate(self) -> CertificateSummary | None:
        cert = self.findings.certificate
        return None if cert is None else summarise(cert)

    @property
    def signing_time(self) -> dt.datetime | None:
        """The signing time the seal claims (not proof: see ``proof_of_existence``)."""
        return self.findings.claimed_time

    @property
    def algorithm(self) -> str | None:
        return self.findings.algorithm

    @property
    def signature_intact(self) -> bool:
        return self.findings.signature_intact

    def to_dict(self) -> dict[str, Any]:
        found = self.findings
        cert = found.certificate
        return {
            "format": found.format,
            "level": found.level,
            "algorithm": found.algorithm,
            "verdict": self.verdict,
            "indication": INDICATIONS[self.verdict],
            "sub_indication": self.sub_indication,
            "signature_intact": found.signature_intact,
            "signing_time_claimed": None if found.claimed_time is None else iso_utc(found.claimed_time),
            "proof_of_existence": None if self.proof_of_existence is None else iso_utc(self.proof_of_existence),
            "validation_time": None if self.validation_time is None else iso_utc(self.validation_time),
            "certificate": None if cert is None else summarise(cert).to_dict(),
            "trust": {"anchors": self.anchors, "chain_trusted": self.chain_trusted, "chain": list(self.chain)},
            "timestamps": [t.to_dict() for t in self.timestamps],
            "revocation": dict(self.revocation),
            "qualification": self.qualification,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }
