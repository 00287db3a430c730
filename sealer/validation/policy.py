"""The validation policy: from a parser's findings to an EN 319 102-1 verdict.

In order (EN 319 102-1 5.3, 5.5, 5.6 simplified for one signer and baseline signatures):

1. Anything the parser found wrong (format, hash, signature) is TOTAL-FAILED with its sub-indication.
2. Without trust anchors the result is at best INDETERMINATE / NO_CERTIFICATE_CHAIN_FOUND: an intact
   seal by an unknown certificate proves nothing about who sealed.
3. Proof of existence comes only from time-stamps whose TSA chains to the anchors (:mod:`.poe`).
4. The sealing certificate is validated at the validation time (now, or the time the caller gives),
   with revocation (embedded answers first, then fetched ones). If it has expired or been revoked
   since, the seal is still valid when a trusted time-stamp proves it existed before — the certificate
   is then validated at that proven time with the embedded (or later) revocation data; otherwise the
   result is OUT_OF_BOUNDS_NO_POE or REVOKED_NO_POE (INDETERMINATE), or REVOKED (TOTAL-FAILED) when
   the proof comes after the revocation.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509

from sealer.findings import SignatureFindings
from sealer.validation import chains
from sealer.validation.anchors import TrustAnchors
from sealer.validation.poe import proof_of_existence
from sealer.validation.report import INDETERMINATE, INVALID, VALID, SealValidation, TimestampReport

# Clock skew tolerated between a claimed signing time and the time-stamp that follows it.
CLOCK_SKEW = dt.timedelta(minutes=5)


def judge(
    found: SignatureFindings, anchors: TrustAnchors | None, *, at: dt.datetime | None = None, fetch: bool = False
) -> SealValidation:
    """Turn ``found`` into a verdict; ``at`` is the validation time (default: now)."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    result = SealValidation(findings=found, validation_time=moment,
                            anchors=None if anchors is None else anchors.source)
    result.errors += found.errors
    if found.failures:
        result.timestamps = [TimestampReport(t.kind, t.token.gen_time if t.token else None,
                                             t.token.tsa_name if t.token else None, t.covers, None, t.problem)
                             for t in found.timestamps]
        return _verdict(result, INVALID, found.failures[0].sub_indication)
    if found.certificate is None:
        return _verdict(result, INVALID, "FORMAT_FAILURE")
    leaf = found.certificate
    poe = proof_of_existence(found, anchors, fetch=fetch)
    result.timestamps = poe.timestamps
    result.proof_of_existence = poe.time
    result.warnings += poe.problems
    if not _usable_for_seals(leaf):
        result.errors.append("the certificate's key usage allows neither digitalSignature nor nonRepudiation")
        return _verdict(result, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")
    if found.claimed_time and poe.time and poe.time < found.claimed_time - CLOCK_SKEW:
        result.errors.append("the signature time-stamp is earlier than the claimed signing time")
        return _verdict(result, INDETERMINATE, "TIMESTAMP_ORDER_FAILURE")
    if found.claimed_time and not _within(leaf, found.claimed_time):
        result.errors.append("the certificate was not valid at the claimed signing time")
        sub = "OUT_OF_BOUNDS_NO_POE" if poe.time is None else "SIG_CONSTRAINTS_FAILURE"
        return _verdict(result, INDETERMINATE, sub)
    if poe.time is not None and not _within(leaf, poe.time):
        result.errors.append("the certificate was not valid at the time-stamp's time")
        return _verdict(result, INVALID, "SIG_CONSTRAINTS_FAILURE")
    if anchors is None:
        result.warnings.append("no trust anchors are configured, so nothing says who made this seal")
        return _verdict(result, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")
    return _chain_verdict(result, found, anchors, moment, poe.time, fetch)


def _chain_verdict(
    result: SealValidation, found: SignatureFindings, anchors: TrustAnchors, moment: dt.datetime,
    poe: dt.datetime | None, fetch: bool,
) -> SealValidation:
    leaf = found.certificate
    assert leaf is not None
    others = [*found.chain, *found.validation_certs]

    def check(when: dt.datetime, retroactive: bool) -> chains.ChainOutcome:
        return chains.check_chain(leaf, anchors=anchors.seal_anchors, intermediates=others, moment=when,
                                  crls=found.crls, ocsps=found.ocsps, fetch=fetch, retroactive=retroactive)

    now = check(moment, retroactive=False)
    outcome = now
    if now.status in (chains.EXPIRED, chains.REVOKED) and poe is not None and poe < moment:
        if now.status == chains.REVOKED and now.revoked_at is not None and now.revoked_at <= poe:
            return _chain_failed(result, now, INVALID, "REVOKED")
        past = check(poe, retroactive=True)
        if past.ok:
            result.warnings.append(
                f"the certificate {'was revoked' if now.status == chains.REVOKED else 'has expired'} since; a "
                f"trusted time-stamp proves the seal was made on {poe:%Y-%m-%d %H:%M:%S}Z, while it was valid")
        outcome = past
    result.chain = outcome.path
    result.chain_trusted = outcome.status not in (chains.NO_CHAIN,)
    result.revocation = _revocation(outcome, found)
    if outcome.ok:
        result.qualification = _qualification(anchors, outcome, poe or found.claimed_time or moment)
        return _verdict(result, VALID, None)
    if outcome.status == chains.NO_CHAIN:
        result.chain_trusted = False
        return _chain_failed(result, outcome, INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND")
    if outcome.status == chains.REVOKED:
        return _chain_failed(result, outcome, INDETERMINATE, "REVOKED_NO_POE")
    if outcome.status in (chains.EXPIRED, chains.NOT_YET_VALID):
        return _chain_failed(result, outcome, INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")
    if outcome.status == chains.NO_REVOCATION_DATA:
        return _chain_failed(result, outcome, INDETERMINATE, "TRY_LATER")
    if outcome.status == chains.ALGORITHM:
        return _chain_failed(result, outcome, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE_NO_POE")
    return _chain_failed(result, outcome, INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")


def _chain_failed(result: SealValidation, outcome: chains.ChainOutcome, verdict: str, sub: str) -> SealValidation:
    result.errors.append(f"certificate chain: {outcome.message}")
    if outcome.status == chains.REVOKED:
        result.revocation = {"status": "revoked", "revoked_at": outcome.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                             if outcome.revoked_at else None}
    return _verdict(result, verdict, sub)


def _revocation(outcome: chains.ChainOutcome, found: SignatureFindings) -> dict[str, object]:
    if outcome.status == chains.REVOKED:
        return {"status": "revoked"}
    if outcome.status == chains.NO_REVOCATION_DATA:
        return {"status": "unknown", "detail": outcome.message}
    if not outcome.revocation_checked:
        return {"status": "not_declared"}  # the certificates name no OCSP responder nor CRL
    source = "embedded" if (found.ocsps or found.crls) else "fetched"
    return {"status": "good", "source": source}


def _qualification(anchors: TrustAnchors, outcome: chains.ChainOutcome, when: dt.datetime) -> dict[str, object] | None:
    """With EU trusted lists: is this a qualified electronic seal, under a service granted at ``when``?"""
    if anchors.registry is None or outcome.validation_path is None:
        return None
    from sealer.validation.trusted_lists import qualification

    return qualification(anchors.registry, outcome.validation_path, when)


def _verdict(result: SealValidation, verdict: str, sub: str | None) -> SealValidation:
    result.verdict, result.sub_indication = verdict, sub
    return result


def _usable_for_seals(cert: x509.Certificate) -> bool:
    """RFC 5280 4.2.1.3: when key usage is present, a signing certificate must allow signatures."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.digital_signature or usage.content_commitment


def _within(cert: x509.Certificate, moment: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc
