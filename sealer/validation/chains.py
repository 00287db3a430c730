"""X.509 validation of a certificate against the trust anchors at one moment (pyhanko-certvalidator).

The outcome names what went wrong in the terms the verdict needs (EN 319 102-1, 5.2.6): no chain,
expired or not yet valid at that moment, revoked (and since when), revocation unknown, other chain
constraints. Revocation is checked where a certificate declares where to ask (OCSP, CRL): with the
OCSP/CRL answers embedded in the seal first, then — when ``fetch`` is allowed — by asking the
responders through the process-wide fetchers of :mod:`sealer.ltv`, which keep their answers.
"""
from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath

from sealer import certificates
from sealer.ltv import asn1, shared_fetchers

OK = "ok"
NO_CHAIN = "no_chain"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
REVOKED = "revoked"
NO_REVOCATION_DATA = "no_revocation_data"
ALGORITHM = "algorithm"
CONSTRAINTS = "constraints"


@dataclass
class ChainOutcome:
    """What validating one certificate at ``moment`` gave."""

    status: str
    moment: dt.datetime
    message: str | None = None
    revoked_at: dt.datetime | None = None
    path: list[str] = field(default_factory=list)
    validation_path: ValidationPath | None = None
    revocation_checked: bool = False

    @property
    def ok(self) -> bool:
        return self.status == OK


def check_chain(
    cert: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    moment: dt.datetime,
    crls: Iterable[bytes] = (),
    ocsps: Iterable[bytes] = (),
    fetch: bool = False,
    retroactive: bool = False,
) -> ChainOutcome:
    """Validate ``cert`` at ``moment``. ``retroactive`` accepts revocation data issued after ``moment``
    (validation in the past, at a proven time, with answers gathered later).

    Offline validations (``fetch`` False) are remembered: certvalidator's answer can only change when
    ``moment`` crosses one of the instants its checks compare against (a certificate's validity bounds,
    an OCSP/CRL answer's thisUpdate, nextUpdate or revocation time), so an answer is reused for any moment
    between the same two such instants — exactly, not approximately. Credentials of one issuer share
    their chain and TSA, so verifying many of them costs one path validation each, not three.
    """
    moment = moment.astimezone(dt.UTC)
    intermediates, crls, ocsps = list(intermediates), list(crls), list(ocsps)
    if fetch or not anchors:
        return _check_chain(cert, anchors=anchors, intermediates=intermediates, moment=moment, crls=crls,
                            ocsps=ocsps, fetch=fetch, retroactive=retroactive)
    der = certificates.der
    key = (der(cert), tuple(der(c) for c in anchors), tuple(der(c) for c in intermediates), tuple(crls),
           tuple(ocsps), retroactive)
    events = _events(key, cert, anchors, intermediates, crls, ocsps)
    index = bisect.bisect_left(events, moment)
    # A moment between two instants shares its answer with that whole interval; a moment exactly on one
    # (time-stamps and OCSP answers often share a second) only with itself.
    bucket = (key, index, index < len(events) and events[index] == moment)
    with _CACHE_LOCK:
        cached = _OUTCOMES.get(bucket)
        if cached is not None:
            _OUTCOMES.move_to_end(bucket)
            return replace(cached, moment=moment)
    outcome = _check_chain(cert, anchors=anchors, intermediates=intermediates, moment=moment, crls=crls,
                           ocsps=ocsps, fetch=False, retroactive=retroactive)
    with _CACHE_LOCK:
        _OUTCOMES[bucket] = outcome
        while len(_OUTCOMES) > _CACHE_SIZE:
            _OUTCOMES.popitem(last=False)
    return outcome


_SHIFTS = (-dt.timedelta(seconds=1), dt.timedelta(0), dt.timedelta(seconds=1))  # certvalidator's tolerance
_CACHE_SIZE = 4096
_CACHE_LOCK = threading.Lock()
_OUTCOMES: OrderedDict[tuple, ChainOutcome] = OrderedDict()
_EVENTS: OrderedDict[tuple, list[dt.datetime]] = OrderedDict()


def _events(key: tuple, cert: x509.Certificate, anchors: Sequence[x509.Certificate],
            intermediates: list[x509.Certificate], crls: list[bytes], ocsps: list[bytes]) -> list[dt.datetime]:
    """Every instant at which a validation's answer may change, sorted (cached per key)."""
    with _CACHE_LOCK:
        if key in _EVENTS:
            return _EVENTS[key]
    times: set[dt.datetime] = set()
    for c in (cert, *anchors, *intermediates):
        times.update((c.not_valid_before_utc, c.not_valid_after_utc))
    for der in ocsps:
        times.update(_ocsp_times(der))
    for der in crls:
        times.update(_crl_times(der))
    # certvalidator compares with a tolerance, so its answer may change at each instant +/- that.
    events = sorted({t.astimezone(dt.UTC) + shift for t in times for shift in _SHIFTS})
    with _CACHE_LOCK:
        _EVENTS[key] = events
        while len(_EVENTS) > _CACHE_SIZE:
            _EVENTS.popitem(last=False)
    return events


def _ocsp_times(der: bytes) -> set[dt.datetime]:
    try:
        basic = asn1_ocsp.OCSPResponse.load(der).basic_ocsp_response
        data = basic["tbs_response_data"]
        out = {data["produced_at"].native}
        for single in data["responses"]:
            out.add(single["this_update"].native)
            if single["next_update"].native is not None:
                out.add(single["next_update"].native)
            status = single["cert_status"]
            if status.name == "revoked":
                out.add(status.chosen["revocation_time"].native)
        return {t for t in out if isinstance(t, dt.datetime)}
    except (ValueError, TypeError, KeyError, AttributeError):
        return set()  # unreadable: certvalidator will say so, at any moment


def _crl_times(der: bytes) -> set[dt.datetime]:
    try:
        tbs = asn1_crl.CertificateList.load(der)["tbs_cert_list"]
        out = {tbs["this_update"].native, tbs["next_update"].native}
        out.update(entry["revocation_date"].native for entry in tbs["revoked_certificates"] or [])
        return {t for t in out if isinstance(t, dt.datetime)}
    except (ValueError, TypeError, KeyError, AttributeError):
        return set()


def _check_chain(
    cert: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    moment: dt.datetime,
    crls: Iterable[bytes] = (),
    ocsps: Iterable[bytes] = (),
    fetch: bool = False,
    retroactive: bool = False,
) -> ChainOutcome:
    if not anchors:
        return ChainOutcome(NO_CHAIN, moment, "no trust anchors were given")
    context = ValidationContext(
        trust_roots=[asn1(c) for c in anchors],
        other_certs=[asn1(c) for c in intermediates],
        moment=moment,
        allow_fetching=fetch,
        fetchers=shared_fetchers() if fetch else None,
        revocation_mode="hard-fail",
        crls=list(crls),
        ocsps=list(ocsps),
        retroactive_revinfo=retroactive,
    )
    validator = CertificateValidator(asn1(cert), validation_context=context)
    try:
        path = asyncio.run(validator.async_validate_path())
    except PathBuildingError:
        return ChainOutcome(NO_CHAIN, moment, "no chain from the certificate to any trust anchor")
    except RevokedError as exc:
        return ChainOutcome(REVOKED, moment, str(exc), revoked_at=exc.revocation_dt.astimezone(dt.UTC))
    except ExpiredError as exc:
        return ChainOutcome(EXPIRED, moment, str(exc))
    except NotYetValidError as exc:
        return ChainOutcome(NOT_YET_VALID, moment, str(exc))
    except InsufficientRevinfoError as exc:
        return ChainOutcome(NO_REVOCATION_DATA, moment, str(exc))
    except DisallowedAlgorithmError as exc:
        return ChainOutcome(ALGORITHM, moment, str(exc))
    except (PathValidationError, ValidationError) as exc:
        return ChainOutcome(CONSTRAINTS, moment, str(exc))
    names = [c.subject.human_friendly for c in path.iter_certs(include_root=True)]
    return ChainOutcome(OK, moment, path=names, validation_path=path,
                        revocation_checked=bool(context.ocsps or context.crls))
