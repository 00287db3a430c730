"""The pipeline's connections to the other parts: ELM assembly, the eSeal, ESCO labels, delivery.

Built lazily once per process (a worker opens the PKCS#11 session or the PKCS#12 file once, not per
credential) and shared by all tasks of that process.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from bridge.config import Settings

if TYPE_CHECKING:
    from bridge.delivery.email import MailTransport
    from bridge.delivery.retry import RetryPolicy
    from bridge.delivery.wallet import WalletClient
    from bridge.elm.compiled import CompiledTemplates
    from bridge.elm.conformance import ConformanceGuard
    from bridge.elm.issuer import Issuer
    from bridge.esco.service import EscoService
    from sealer.jades_sealer import JadesSealer
    from sealer.keys import KeySource


logger = logging.getLogger(__name__)


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

    @cached_property
    def sealer(self) -> JadesSealer:
        """The bulk JAdES sealer: what never changes per key (x5c, kid, header) is computed once."""
        from sealer.jades_sealer import JadesSealer

        return JadesSealer(self.key_source, tsa_url=self.settings.tsa_url)

    def seal(self, payload: bytes, *, escaped: bytes | None = None) -> str:
        """The sealed file's text (JAdES JWS JSON, compact), as it will be served and attached.

        ``escaped`` is the payload already escaped as a JSON string, as the compiled template renders
        it: passing it saves escaping the whole credential again.
        """
        return self.sealer.seal(payload, escaped=escaped).decode("utf-8")

    # --- credential content --------------------------------------------------------------------
    @cached_property
    def esco(self) -> EscoService:
        from bridge.esco.service import default_service

        return default_service()

    @property
    def guard(self) -> ConformanceGuard:
        return shared_guard()

    @cached_property
    def compiled(self) -> CompiledTemplates:
        """Course templates compiled once per (source, course, version) and issuer; see README."""
        from bridge.elm.compiled import CompiledTemplates

        return CompiledTemplates(TEMPLATE_CACHE_SIZE, guard=self.guard)

    def build_credential(self, template: dict[str, Any], completion: dict[str, Any], *,
                         credential_id: str, issued: dt.datetime,
                         template_key: tuple[str, str, int]) -> tuple[bytes, bytes | None]:
        """The credential's JSON text (and its JSON-escaped form), guaranteed to conform.

        The fast path renders it from the template compiled for ``template_key`` (source, course,
        version): byte-identical to ``assemble()`` output whose skeleton passed full SHACL, with the
        per-learner values type-checked. Should a template not compile, the credential is assembled
        and checked by the conformance guard instead — slower, equally guaranteed.
        """
        from bridge.elm.assemble import assemble
        from bridge.elm.compiled import CompileError
        from bridge.elm.completion import Completion
        from bridge.elm.conformance import NonConformant
        from bridge.elm.errors import ValidationFailed
        from bridge.elm.learning_opportunity import opportunity_url
        from bridge.elm.template import CourseTemplate

        credential_uri = f"urn:credential:{credential_id}"
        try:
            parsed = Completion.from_dict(completion)
            link = opportunity_url(self.settings.public_url, parsed.source, parsed.course_id)
            try:
                compiled = self.compiled.get(template_key, lambda: CourseTemplate.from_dict(template), self.issuer,
                                             skill_labels=self.esco.labels, learning_opportunity=link)
            except CompileError:
                logger.warning("template %s/%s v%s did not compile; assembling credentials one by one",
                               *template_key)
            else:
                rendered = compiled.render_pair(parsed, credential_id=credential_uri, issued=issued)
                return rendered.payload, rendered.escaped
            credential = assemble(CourseTemplate.from_dict(template), parsed, self.issuer,
                                  credential_id=credential_uri, issued=issued, skill_labels=self.esco.labels,
                                  learning_opportunity=link)
            self.guard.ensure(credential)
        except ValidationFailed as exc:
            raise PermanentIssueError(f"cannot assemble the credential: {exc}") from None
        except NonConformant as exc:
            raise PermanentIssueError(str(exc)) from None
        return json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), None

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
