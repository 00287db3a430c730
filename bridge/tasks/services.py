"""The pipeline's connections to the other parts: ELM assembly, the eSeal, ESCO labels, delivery.

Built lazily once per process (a worker opens the PKCS#11 session or the PKCS#12 file once, not per
credential) and shared by all tasks of that process.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from bridge.config import Settings


class PermanentIssueError(Exception):
    """Issuance cannot succeed by retrying (invalid template or completion, non-conformant output)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt led to: delivered, failed for good, or pending until ``retry_at``."""

    status: str
    error: str | None = None
    retry_at: dt.datetime | None = None
    result: dict[str, Any] | None = None


DEV_SEAL_DIR = "devseal"


def ensure_dev_seal(data_dir: Path) -> tuple[Path, str]:
    """Create the development seal once per data folder, atomically, even with several workers racing."""
    from sealer.devseal import create_dev_seal

    target = data_dir / DEV_SEAL_DIR
    p12 = target / "dev-seal.p12"
    if not p12.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".devseal-", dir=data_dir))
        try:
            create_dev_seal(staging)
            try:
                os.rename(staging, target)
            except OSError:  # another process won the race; use its seal
                pass
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return p12, "dev-seal"  # noqa: S105 - the documented password of the throwaway dev seal


class Services:
    """Lazily opened key source, issuer, ELM tooling and delivery channels for one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()

    # --- sealing -------------------------------------------------------------------------------
    @cached_property
    def key_source(self) -> Any:
        """The eSeal: PKCS#11 token, PKCS#12 file, or the generated development seal."""
        s = self.settings
        if s.seal_pkcs11_module:
            from sealer.keys import open_key_source

            return open_key_source(pkcs11_module=s.seal_pkcs11_module, token_label=s.seal_pkcs11_token_label,
                                   key_label=s.seal_pkcs11_key_label, pin=s.seal_pkcs11_pin)
        from sealer.keys import Pkcs12KeySource

        if s.seal_pkcs12:
            return Pkcs12KeySource(s.seal_pkcs12, s.seal_pkcs12_password)
        if s.dev_seal:
            path, password = ensure_dev_seal(s.data_dir)
            return Pkcs12KeySource(path, password)
        raise RuntimeError("no eSeal configured: set EDC_SEAL_PKCS12, EDC_SEAL_PKCS11_MODULE "
                           "or EDC_DEV_SEAL=1")

    @cached_property
    def issuer(self) -> Any:
        """The sealing organisation, read from the seal certificate (what verifiers will see)."""
        from cryptography.x509.oid import NameOID

        from bridge.elm.assemble import Issuer

        subject = self.key_source.certificate.subject

        def attr(oid: Any) -> str | None:
            values = subject.get_attributes_for_oid(oid)
            return str(values[0].value) if values else None

        return Issuer(legal_name=attr(NameOID.ORGANIZATION_NAME) or attr(NameOID.COMMON_NAME) or "",
                      eidas_identifier=attr(NameOID.ORGANIZATION_IDENTIFIER) or "",
                      country=attr(NameOID.COUNTRY_NAME) or "")

    def seal(self, payload: bytes) -> dict[str, Any]:
        from sealer.jades import seal_jades

        return seal_jades(payload, self.key_source, tsa_url=self.settings.tsa_url)

    # --- credential content --------------------------------------------------------------------
    @cached_property
    def esco(self) -> Any:
        from bridge.esco import EscoService

        return EscoService()

    def skill_labels(self, uris: list[str]) -> dict[str, dict[str, str]]:
        labels: dict[str, dict[str, str]] = {}
        for uri in uris:
            found = self.esco.labels(uri)
            if found:
                labels[uri] = found
        return labels

    def build_credential(self, template: dict[str, Any], completion: dict[str, Any], *,
                         credential_id: str, issued: dt.datetime) -> dict[str, Any]:
        """Assemble the ELM credential and refuse to go on unless it conforms."""
        from bridge.elm.assemble import assemble
        from bridge.elm.completion import Completion
        from bridge.elm.errors import ValidationFailed
        from bridge.elm.template import CourseTemplate

        try:
            tpl = CourseTemplate.from_dict(template)
            comp = Completion.from_dict(completion)
        except ValidationFailed as exc:
            raise PermanentIssueError(f"invalid stored input: {exc}") from None
        uris = [u for o in template.get("learning_outcomes", []) for u in o.get("esco_skills", [])
                if isinstance(u, str)]
        credential = assemble(tpl, comp, self.issuer, credential_id=f"urn:credential:{credential_id}",
                              issued=issued, skill_labels=self.skill_labels(uris))
        try:
            self.guard.ensure(tpl, credential)
        except ValidationFailed as exc:
            raise PermanentIssueError(f"the assembled credential does not conform: {exc}") from None
        return credential

    @cached_property
    def guard(self) -> Any:
        from bridge.elm.conformance import ConformanceGuard

        return ConformanceGuard()

    def safe_message(self, exc: Exception) -> str:
        """A short, log-safe description of an unexpected error (no personal data)."""
        from bridge.delivery.errors import redact

        return redact(str(exc))[:300]

    # --- delivery ------------------------------------------------------------------------------
    def deliver(self, channel: str, *, completion: dict[str, Any], credential_json: str, sealed: str,
                attempt: int) -> DeliveryOutcome:
        raise NotImplementedError
