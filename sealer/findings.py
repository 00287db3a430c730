"""What a format parser found in a sealed file, before any judgement about trust or time.

The JAdES and XAdES parsers (:mod:`sealer.jades.parse`, :mod:`sealer.xades.core`) fill one
:class:`SignatureFindings` each: the signed payload, the certificates the seal carries, the claimed
signing time, every time-stamp token with what it must cover, the validation data (B-LT/B-LTA) and the
failures found on the way, each tagged with the ETSI EN 319 102-1 sub-indication it leads to. Deciding
what that means (a chain to the anchors, proof of existence, revocation, the verdict) is the job of
:mod:`sealer.validation`; parsers never raise for a bad seal.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cryptography import x509

from sealer.timestamps import TimestampToken

# Sub-indications of EN 319 102-1 a parser can establish on its own (all lead to TOTAL-FAILED).
FORMAT_FAILURE = "FORMAT_FAILURE"
HASH_FAILURE = "HASH_FAILURE"
SIG_CRYPTO_FAILURE = "SIG_CRYPTO_FAILURE"


@dataclass(frozen=True)
class Failure:
    """One reason the seal is invalid, with its EN 319 102-1 sub-indication."""

    sub_indication: str
    message: str


@dataclass(frozen=True)
class TimestampFinding:
    """A time-stamp token found in the seal.

    ``kind`` is ``signature`` (JAdES sigTst, XAdES SignatureTimeStamp), ``archive`` (arcTst) or
    ``content`` (adoTst, AllDataObjectsTimeStamp). ``token`` is None when the token itself is broken;
    ``covers`` tells whether its imprint matches what it must time-stamp (None: not recomputed).
    """

    kind: str
    token: TimestampToken | None
    covers: bool | None
    problem: str | None = None


@dataclass
class SignatureFindings:
    """Facts and failures of one sealed file, in either format."""

    format: str
    algorithm: str | None = None
    level: str | None = None
    payload: bytes = b""
    certificate: x509.Certificate | None = None
    chain: list[x509.Certificate] = field(default_factory=list)
    claimed_time: dt.datetime | None = None
    signature_intact: bool = False
    timestamps: list[TimestampFinding] = field(default_factory=list)
    validation_certs: list[x509.Certificate] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def fail(self, sub_indication: str, message: str) -> None:
        self.failures.append(Failure(sub_indication, message))

    @property
    def errors(self) -> list[str]:
        """The failure messages, in the order found."""
        return [f.message for f in self.failures]
