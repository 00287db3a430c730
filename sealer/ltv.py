"""Long-term validation data: certificates and OCSP/CRL answers, fetched once and cached per process.

Both sides need them: sealing at B-LT/B-LTA embeds them (``xVals``/``rVals``), and verification
fetches what a seal does not embed. pyhanko-certvalidator does the fetching (OCSP requests, CRL
downloads, AIA certificates); this module keeps one fetcher per process so that answers are reused
across seals and verifications (certvalidator's fetchers cache what they retrieved), and collects what
a validated path needed.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError, ValidationError
from pyhanko_certvalidator.fetchers.api import Fetchers
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

FETCH_TIMEOUT = 10.0
_LOG = logging.getLogger(__name__)
_LOCK = threading.Lock()
# Fetched OCSP/CRL answers are kept this long: long enough to serve a burst of verifications of one
# issuer's credentials, short enough that a revocation is seen within minutes.
FETCH_CACHE_SECONDS = 300.0
_FETCHERS: tuple[float, Fetchers] | None = None


class ValidationDataError(Exception):
    """The validation data for a certificate could not be gathered (no path, responder unreachable)."""


def shared_fetchers() -> Fetchers:
    """The process's fetchers (requests-based, so they work from any thread and any event loop), renewed
    every ``FETCH_CACHE_SECONDS`` so that cached answers do not outlive their usefulness."""
    global _FETCHERS
    with _LOCK:
        now = time.monotonic()
        if _FETCHERS is None or now - _FETCHERS[0] > FETCH_CACHE_SECONDS:
            _FETCHERS = (now, RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT).get_fetchers())
        return _FETCHERS[1]


def reset_fetchers() -> None:
    """Forget cached answers (tests that change a responder's mind between two checks)."""
    global _FETCHERS
    with _LOCK:
        _FETCHERS = None


def asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


@dataclass
class ValidationData:
    """What a B-LT seal embeds: certificates (DER order kept, no duplicates) and revocation answers."""

    certificates: list[x509.Certificate] = field(default_factory=list)
    ocsps: list[bytes] = field(default_factory=list)
    crls: list[bytes] = field(default_factory=list)

    def add(self, other: ValidationData) -> None:
        for cert in other.certificates:
            if cert not in self.certificates:
                self.certificates.append(cert)
        self.ocsps += [o for o in other.ocsps if o not in self.ocsps]
        self.crls += [c for c in other.crls if c not in self.crls]


def collect(
    leaf: x509.Certificate,
    *,
    anchors: Sequence[x509.Certificate],
    others: Iterable[x509.Certificate] = (),
    moment: dt.datetime | None = None,
    fetchers: Fetchers | None = None,
) -> ValidationData:
    """Validate ``leaf`` online (revocation required where the certificates declare it) and return the
    path's certificates and the OCSP/CRL answers that proved it. Raises ValidationDataError.

    ``fetchers`` default to the process's caching ones; sealing passes fresh ones, so the answers it
    embeds are issued after the time-stamps they follow."""
    context = ValidationContext(
        trust_roots=[asn1(c) for c in anchors],
        other_certs=[asn1(c) for c in others],
        moment=moment,
        allow_fetching=True,
        fetchers=fetchers or shared_fetchers(),
        revocation_mode="hard-fail",
    )
    try:
        path = asyncio.run(CertificateValidator(asn1(leaf), validation_context=context).async_validate_path())
    except PathBuildingError:
        raise ValidationDataError(
            f"no chain from {leaf.subject.rfc4514_string()} to the configured anchors") from None
    except (PathValidationError, ValidationError) as exc:
        raise ValidationDataError(f"{leaf.subject.rfc4514_string()}: {exc}") from None
    return ValidationData(
        certificates=[crypto(c) for c in path if isinstance(c, asn1_x509.Certificate)],
        ocsps=[o.dump() for o in context.ocsps],
        crls=[c.dump() for c in context.crls],
    )


class Collector:
    """Gathers, for sealing at B-LT/B-LTA, the validation data of a seal's chain and of its TSAs.

    ``anchors``: the roots the chains end in (for the development seal, its own CA). Each call asks
    the responders afresh (new fetchers), so what is embedded post-dates the time-stamps just taken.
    ``at``: the time the chains are validated at (default now).
    """

    def __init__(self, anchors: Sequence[x509.Certificate], *, at: dt.datetime | None = None) -> None:
        if not anchors:
            raise ValidationDataError("sealing at B-LT/B-LTA needs the root certificates the chains end in")
        self.anchors = list(anchors)
        self.at = at

    def __call__(self, chain: Sequence[x509.Certificate],
                 tsa_chains: Sequence[Sequence[x509.Certificate]] = ()) -> ValidationData:
        fetchers = RequestsFetcherBackend(per_request_timeout=FETCH_TIMEOUT).get_fetchers()
        data = collect(chain[0], anchors=self.anchors, others=chain[1:], moment=self.at, fetchers=fetchers)
        for tsa_chain in tsa_chains:
            try:
                data.add(collect(tsa_chain[0], anchors=self.anchors, others=tsa_chain[1:], moment=self.at,
                                 fetchers=fetchers))
            except ValidationDataError as exc:
                # A TSA under a root we were not given: embed its certificates; its revocation data must
                # then come from the verifier (who trusts that TSA or not).
                _LOG.warning("validation data of the time-stamping authority left out: %s", exc)
                data.add(ValidationData(certificates=list(tsa_chain)))
        return data
