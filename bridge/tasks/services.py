"""The pipeline's connections to the other parts: ELM assembly, the eSeal, ESCO labels, delivery.

Built lazily once per process (a worker opens the PKCS#11 session or the PKCS#12 file once, not per
credential) and shared by all tasks of that process.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from bridge.config import Settings

if TYPE_CHECKING:
    from bridge.delivery.email import MailTransport
    from bridge.delivery.retry import RetryPolicy
    from bridge.delivery.wallet import WalletClient
    from bridge.elm.conformance import ConformanceGuard
    from bridge.elm.issuer import Issuer
    from bridge.esco.service import EscoService
    from sealer.keys import KeySource


class PermanentIssueError(Exception):
    """Issuance cannot succeed by retrying (invalid template or completion, non-conformant output)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt led to: delivered, failed for good, or pending until ``retry_at``."""

    status: str
    error: str | None = None
    retry_at: dt.datetime | None = None
    result: dict[str, Any] | None = None


TEMPLATE_CACHE_SIZE = 256


@cache
def shared_guard() -> ConformanceGuard:
    """One conformance guard per process: the skeletons it has validated hold for every app and task."""
    from bridge.elm.conformance import ConformanceGuard

    return ConformanceGuard()


class Services:
    """Lazily opened key source, issuer, ELM tooling and delivery channels for one process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._templates: dict[tuple[str, str, int], Any] = {}

    # --- sealing -------------------------------------------------------------------------------
    @cached_property
    def key_source(self) -> KeySource:
        """The eSeal, chosen by the sealer's single factory from the same variables as everywhere.

        The embedded default (no key configured, ``EDC_DEV_SEAL`` unset) asks for the development seal.
        """
        from sealer.keys_config import open_key_source

        s = self.settings
        variables = {**s.env, "EDC_DATA_DIR": str(s.data_dir)}
        if s.dev_seal:
            variables["EDC_DEV_SEAL"] = "1"
        return open_key_source(variables)

    @cached_property
    def issuer(self) -> Issuer:
        """The sealing organisation, read from the seal certificate (what verifiers will match)."""
        from bridge.elm.issuer import Issuer

        return Issuer.from_certificate(self.key_source.certificate)

    def seal(self, payload: bytes) -> str:
        """The sealed file's text (JAdES JWS JSON, compact), as it will be served and attached."""
        from sealer.jades import dumps, seal_jades

        return dumps(seal_jades(payload, self.key_source, tsa_url=self.settings.tsa_url)).decode("utf-8")

    # --- credential content --------------------------------------------------------------------
    @cached_property
    def esco(self) -> EscoService:
        from bridge.esco.service import default_service

        return default_service()

    @property
    def guard(self) -> ConformanceGuard:
        return shared_guard()

    def build_credential(self, template: dict[str, Any], completion: dict[str, Any], *,
                         credential_id: str, issued: dt.datetime,
                         template_key: tuple[str, str, int] | None = None) -> dict[str, Any]:
        """Assemble the ELM credential and refuse to go on unless it conforms to the EDC shapes.

        ``template_key`` (source, course, version) lets a chunk of credentials share one parsed
        template; a new version of the template is a new key.
        """
        from bridge.elm.assemble import assemble
        from bridge.elm.completion import Completion
        from bridge.elm.conformance import NonConformant
        from bridge.elm.errors import ValidationFailed
        from bridge.elm.learning_opportunity import opportunity_url
        from bridge.elm.template import CourseTemplate

        try:
            parsed = Completion.from_dict(completion)
            course = self._templates.get(template_key) if template_key else None
            if course is None:
                course = CourseTemplate.from_dict(template)
                if template_key:
                    with self._lock:
                        if len(self._templates) >= TEMPLATE_CACHE_SIZE:
                            self._templates.clear()
                        self._templates[template_key] = course
            credential = assemble(course, parsed,
                                  self.issuer, credential_id=f"urn:credential:{credential_id}", issued=issued,
                                  skill_labels=self.esco.labels,
                                  learning_opportunity=opportunity_url(self.settings.public_url, parsed.source,
                                                                       parsed.course_id))
        except ValidationFailed as exc:
            raise PermanentIssueError(f"cannot assemble the credential: {exc}") from None
        try:
            self.guard.ensure(credential)
        except NonConformant as exc:
            raise PermanentIssueError(str(exc)) from None
        return credential

    def safe_message(self, exc: Exception) -> str:
        """A short, log-safe description of an unexpected error (addresses removed)."""
        from bridge.delivery.errors import redact

        return redact(str(exc))[:300]

    # --- delivery ------------------------------------------------------------------------------
    @cached_property
    def mail_transport(self) -> MailTransport:
        from bridge.delivery.email import transport_from_config

        env = dict(self.settings.env)
        env.setdefault("EDC_OUTBOX_DIR", str(self.settings.outbox_dir))
        return transport_from_config(env)

    @cached_property
    def wallet(self) -> WalletClient | None:
        from bridge.delivery.wallet import WalletClient

        return WalletClient(self.settings.wallet_url) if self.settings.wallet_url else None

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        from bridge.delivery.retry import RetryPolicy

        return RetryPolicy()

    def deliver(self, channel: str, *, credential_id: str, completion: dict[str, Any], credential_json: str,
                sealed: str, attempt: int) -> DeliveryOutcome:
        """One attempt on one channel, turned into the next state of the delivery row."""
        from bridge.delivery.errors import DeliveryInputError, PermanentDeliveryError, TransientDeliveryError

        try:
            result = self._send(channel, credential_id, completion, credential_json, sealed)
        except (PermanentDeliveryError, DeliveryInputError) as exc:
            return DeliveryOutcome("failed", error=str(exc))
        except TransientDeliveryError as exc:
            delay = self.retry_policy.next_delay(attempt, exc.retry_after)
            if delay is None:
                return DeliveryOutcome("failed", error=f"gave up after {attempt} attempts: {exc.message}")
            return DeliveryOutcome("pending", error=exc.message,
                                   retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay))
        return DeliveryOutcome("delivered", result=result)

    def _send(self, channel: str, credential_id: str, completion: dict[str, Any], credential_json: str,
              sealed: str) -> dict[str, Any]:
        import json

        from bridge.delivery.errors import PermanentDeliveryError
        from bridge.delivery.message import build_credential_message
        from bridge.elm.summary import summarise

        learner = completion["learner"]
        lang = learner.get("language") or "en"
        filename = f"credential-{credential_id}"
        if channel == "email":
            transport = self.mail_transport
            message = build_credential_message(
                to_email=learner["email"], learner_name=f"{learner['given_name']} {learner['family_name']}",
                lang=lang, summary=summarise(json.loads(credential_json), lang),
                sealed_bytes=sealed.encode("utf-8"), filename=filename, sender=transport.sender)
            return {"message_id": transport.send(message)}
        if channel == "wallet":
            if self.wallet is None:
                raise PermanentDeliveryError("the wallet channel is not configured (EDC_WALLET_URL)")
            deposit = self.wallet.deposit(learner["email"], sealed.encode("utf-8"), filename, locale=lang)
            return {"wallet_status": deposit.status, "viewer_url": deposit.viewer_url}
        raise PermanentDeliveryError(f"unknown channel {channel!r}")
