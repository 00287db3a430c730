"""Proof of existence: the earliest time a trusted time-stamp proves the seal existed.

A claimed signing time (``sigT``, ``SigningTime``) is the sealer's word and proves nothing. A signature
or archive time-stamp proves the seal existed at its time only when the token checks out (done by the
format parser), covers this seal, and its TSA certificate chains to the TSA anchors and passes its own
validity and revocation checks at the time-stamp's time (EN 319 102-1, 5.4 and 5.6.2.3).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sealer.findings import SignatureFindings
from sealer.validation.anchors import TrustAnchors
from sealer.validation.chains import check_chain
from sealer.validation.report import TimestampReport

PROVING_KINDS = ("signature", "archive")


@dataclass
class ProofOfExistence:
    time: dt.datetime | None = None
    timestamps: list[TimestampReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def proof_of_existence(found: SignatureFindings, anchors: TrustAnchors | None, *, fetch: bool) -> ProofOfExistence:
    """Judge every time-stamp of the seal; the earliest trusted one (signature or archive) is the proof."""
    out = ProofOfExistence()
    intermediates = [*found.validation_certs]
    for stamp in found.timestamps:
        token = stamp.token
        if token is None:
            out.timestamps.append(TimestampReport(stamp.kind, None, None, stamp.covers, False, stamp.problem))
            continue
        trusted: bool | None = None
        problem = None
        # Content time-stamps (adoTst) say when the data existed, not the seal: they prove nothing here.
        if anchors is not None and stamp.covers is not False and stamp.kind in PROVING_KINDS:
            outcome = check_chain(
                token.signer, anchors=anchors.tsa_anchors, intermediates=[*token.certificates, *intermediates],
                moment=token.gen_time, crls=found.crls, ocsps=found.ocsps, fetch=fetch, retroactive=True,
            )
            trusted = outcome.ok
            if not trusted:
                problem = f"the time-stamping authority is not trusted: {outcome.message}"
                out.problems.append(f"{stamp.kind} time-stamp of {token.gen_time:%Y-%m-%d %H:%M:%S}Z: {problem}")
        out.timestamps.append(TimestampReport(stamp.kind, token.gen_time, token.tsa_name, stamp.covers, trusted,
                                              problem))
        if trusted and stamp.kind in PROVING_KINDS and stamp.covers is True:
            out.time = token.gen_time if out.time is None else min(out.time, token.gen_time)
    return out
