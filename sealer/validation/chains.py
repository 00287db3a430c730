"""X.509 validation of a certificate against the trust anchors at one moment (pyhanko-certvalidator).

The outcome names what went wrong in the terms the verdict needs (EN 319 102-1, 5.2.6): no chain,
expired or not yet valid at that moment, revoked (and since when), revocation unknown, other chain
constraints. Revocation is checked where a certificate declares where to ask (OCSP, CRL): with the
OCSP/CRL answers embedded in the seal first, then — when ``fetch`` is allowed — by asking the
responders through the process-wide fetchers of :mod:`sealer.ltv`, which keep their answers.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

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
    (validation in the past, at a proven time, with answers gathered later)."""
    moment = moment.astimezone(dt.UTC)
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
