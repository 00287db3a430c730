"""The sealing organisation (the eSeal certificate's owner), as the credential's ``issuer``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bridge.elm import checks, codelists
from bridge.elm.errors import Collector
from bridge.elm.template import Organisation

# ETSI EN 319 412-1 organizationIdentifier: 3-letter scheme, 2-letter country, '-', reference.
EIDAS_ID_RE = re.compile(r"^(VAT|NTR|PSD|LEI|[A-Z]{2}:)([A-Z]{2})-([0-9A-Za-z+*./-]{1,64})$")
_ORGANIZATION_IDENTIFIER_OID = "2.5.4.97"


@dataclass(frozen=True)
class Issuer:
    """Legal name, eIDAS identifier (certificate organizationIdentifier), country, homepage.

    The eIDAS identifier is what a verifier matches against the seal certificate, so it must be
    copied from the certificate, never typed by hand: see ``from_certificate``.
    """

    legal_name: dict[str, str]
    eidas_identifier: str
    country: str
    homepage: str | None = None

    def __post_init__(self) -> None:
        c = Collector()
        checks.lang_map(c, "issuer.legal_name", self.legal_name, max_len=500)
        if not isinstance(self.eidas_identifier, str) or not EIDAS_ID_RE.fullmatch(self.eidas_identifier):
            c.add("issuer.eidas_identifier", "expected an ETSI organizationIdentifier like VATFR-12345678901")
        if not isinstance(self.country, str) or not codelists.is_country(self.country):
            c.add("issuer.country", "expected an ISO 3166-1 alpha-2 country code this bridge supports")
        checks.url(c, "issuer.homepage", self.homepage, required=False)
        c.raise_if_any()

    @property
    def identifier_country(self) -> str:
        """Country of the eIDAS identifier (``VATFR-…`` -> ``FR``), else the issuer's country."""
        m = EIDAS_ID_RE.fullmatch(self.eidas_identifier)
        country = m.group(2) if m else self.country
        return country if codelists.is_country(country) else self.country

    def represents(self, body: Organisation) -> bool:
        """Whether this sealer *is* the awarding body (same VAT or same national registration).

        When it is not, the credential must carry a mandate evidence (EDC-issuedByMandate).
        """
        m = EIDAS_ID_RE.fullmatch(self.eidas_identifier)
        if not m:
            return False
        scheme, country, ref = m.groups()
        norm = ref.replace(" ", "").upper()
        if scheme == "VAT" and body.vat_identifier:
            return body.vat_identifier.replace(" ", "").upper() in (country + norm, norm)
        if scheme == "NTR":
            return country == body.country and body.legal_identifier.replace(" ", "").upper() == norm
        return False

    @classmethod
    def from_certificate(
        cls, certificate: Any, *, legal_name: dict[str, str] | None = None, homepage: str | None = None
    ) -> Issuer:
        """Read O, C and organizationIdentifier from a cryptography ``x509.Certificate``."""
        from cryptography.x509.oid import NameOID, ObjectIdentifier

        subject = certificate.subject

        def first(oid: Any) -> str | None:
            attrs = subject.get_attributes_for_oid(oid)
            return str(attrs[0].value) if attrs else None

        org_id = first(ObjectIdentifier(_ORGANIZATION_IDENTIFIER_OID))
        org = first(NameOID.ORGANIZATION_NAME)
        country = first(NameOID.COUNTRY_NAME)
        c = Collector()
        if not org_id:
            c.add("certificate.subject.organizationIdentifier", "the seal certificate has none")
        if not country:
            c.add("certificate.subject.C", "the seal certificate has no country")
        if not (legal_name or org):
            c.add("certificate.subject.O", "the seal certificate has no organisation name")
        c.raise_if_any()
        return cls(
            legal_name=legal_name or {"en": org or ""},
            eidas_identifier=org_id or "",
            country=country or "",
            homepage=homepage,
        )
