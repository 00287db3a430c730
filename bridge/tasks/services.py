"""The pipeline's connections to the other parts: ELM assembly, the eSeal, ESCO labels, delivery.

Built lazily once per process (a worker opens the PKCS#11 session or the PKCS#12 file once, not per
credential) and shared by all tasks of that process.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from bridge.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bridge.delivery.email import MailTransport
    from bridge.delivery.retry import RetryPolicy
    from bridge.delivery.wallet import WalletClient
    from bridge.elm.compiled import CompiledTemplate, CompiledTemplates
    from bridge.elm.completion import Completion
    from bridge.elm.conformance import ConformanceGuard
    from bridge.elm.issuer import Issuer
    from bridge.esco.service import EscoService
    from sealer.jades.bulk import JadesSealer
    from sealer.keys import KeySource
    from sealer.ltv import Collector


logger = logging.getLogger(__name__)

Claim = Callable[[str | None], str | None]
"""Called right before a delivery leaves: raises when the caller's claim is lost; returns the
delivery's Message-ID (the stored one, else the one offered, stored now)."""


class PermanentIssueError(Exception):
    """Issuance cannot succeed by retrying (invalid template or completion, non-conformant output)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt led to: delivered, failed for good, or pending until ``retry_at``."""

    status: str
    error: str | None = None
    retry_at: dt.datetime | None = None
    result: dict[str, Any] | None = None
    unknown: bool = False  # sent, but whether it arrived is not known: retried with the same Message-ID


TEMPLATE_CACHE_SIZE = 256
LAYOUT_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@cache
def shared_guard() -> ConformanceGuard:
    """One conformance guard per process: the skeletons it has validated hold for every app and task."""
    from bridge.elm.conformance import ConformanceGuard

    return ConformanceGuard()


class Services:
    """Lazily opened key source, issuer, ELM tooling and delivery channels for one process.

    ``sessions`` (the database) is needed by the delivery steps that keep the learner's page and PDF.
    """

    def __init__(self, settings: Settings, sessions: sessionmaker[Session] | None = None) -> None:
        self.settings = settings
        self.sessions = sessions

    # --- sealing -------------------------------------------------------------------------------
    @cached_property
    def key_source(self) -> KeySource:
        """The eSeal, chosen by the sealer's single factory from the same variables as everywhere.

        The embedded default (no key configured, ``EDC_DEV_SEAL`` unset) asks for the development seal.
        """
        from sealer.keys.config import open_key_source

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
        from sealer.jades.bulk import JadesSealer

        level = self.settings.seal_level
        return JadesSealer(self.key_source, tsa_url=self.settings.tsa_url, level=level,
                           validation_data=self._collector() if level in ("B-LT", "B-LTA") else None)

    def _collector(self) -> Collector:
        """What B-LT/B-LTA seals gather their validation data with: the chains end in the roots that came
        with the key, or in the anchors this sidecar verifies with."""
        from sealer.ltv import Collector
        from sealer.validation.anchors import load

        roots = list(self.key_source.roots)
        trust = self.settings.env.get("EDC_VERIFY_TRUST")
        if trust:
            roots += [c for c in load(trust).seal_anchors if c not in roots]
        return Collector(roots)

    @property
    def uses_dev_seal(self) -> bool:
        """The development seal signs: configured as such, or a NOT QUALIFIED certificate made by it."""
        from sealer.keys.devseal import is_dev_seal

        return self.settings.dev_seal or is_dev_seal(self.key_source.certificate)

    @cached_property
    def public_url_refusal(self) -> str | None:
        """Why sealing is refused (unset or loopback ``EDC_PUBLIC_URL`` with a real seal), or None."""
        from bridge.public_url import refusal

        return refusal(self.settings.env, dev_seal=self.uses_dev_seal)

    def seal(self, payload: bytes, *, escaped: bytes | None = None) -> bytes:
        """The sealed file (JAdES JWS JSON, UTF-8), byte for byte as it will be served and attached.

        ``escaped`` is the payload already escaped as a JSON string, as the compiled template renders
        it: passing it saves escaping the whole credential again. Raises PublicUrlRequired (a passing
        failure: the credential is retried and succeeds once the setting is fixed) while
        ``EDC_PUBLIC_URL`` is unusable.
        """
        return self.seal_chunk([(payload, escaped)])[0]

    def seal_chunk(self, items: list[tuple[bytes, bytes | None]]) -> list[bytes]:
        """Seal (payload, escaped or None) pairs together, as :meth:`seal` seals one: at B-LT/B-LTA the
        chunk's validation data is gathered once (see ``JadesSealer.seal_chunk``)."""
        if not items:
            return []
        if self.public_url_refusal is not None:
            from bridge.public_url import PublicUrlRequired

            raise PublicUrlRequired(self.public_url_refusal)
        return self.sealer.seal_chunk(items)

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
        """Course templates compiled once per content (digest), course and issuer; see README."""
        from bridge.elm.compiled import CompiledTemplates

        return CompiledTemplates(TEMPLATE_CACHE_SIZE, guard=self.guard)

    def build_credential(self, template: dict[str, Any], completion: dict[str, Any], *,
                         credential_id: str, issued: dt.datetime,
                         course: tuple[str, str]) -> tuple[bytes, bytes | None]:
        """The credential's JSON text (and its JSON-escaped form), guaranteed to conform.

        One-off form of :meth:`credential_builder` (the pipeline keeps one builder per chunk).
        """
        return self.credential_builder(template, course).build(completion, credential_id=credential_id,
                                                                      issued=issued)

    def credential_builder(self, template: dict[str, Any], course: tuple[str, str]) -> CredentialBuilder:
        """A builder for the credentials of one template of one course (source, course id).

        The compiled template is looked up by the digest of the template's content (with the course,
        whose link it carries, and the issuer), never by version number: whatever a version says,
        credentials are built from exactly the content they were given. The fast path renders from
        it: byte-identical to
        ``assemble()`` output whose skeleton passed full SHACL, with the per-learner values
        type-checked. Should the template not compile, credentials are assembled and checked by the
        conformance guard instead — slower, equally guaranteed. Looking the compiled template up
        (and re-checking its ESCO labels) once per chunk rather than per credential is what makes
        this a builder. Raises PermanentIssueError when the template itself is invalid.
        """
        from bridge.elm.compiled import CompileError
        from bridge.elm.conformance import NonConformant
        from bridge.elm.errors import ValidationFailed
        from bridge.elm.learning_opportunity import opportunity_url
        from bridge.elm.template import CourseTemplate, content_digest

        link = opportunity_url(self.settings.public_url, course[0], course[1])
        key = (course[0], course[1], content_digest(template))
        try:
            compiled = self.compiled.get(key, lambda: CourseTemplate.from_dict(template), self.issuer,
                                         skill_labels=self.esco.labels, learning_opportunity=link)
        except CompileError:
            logger.warning("template %s/%s (%s) did not compile; assembling credentials one by one",
                           *key)
            compiled = None
        except ValidationFailed as exc:
            raise PermanentIssueError(f"cannot assemble the credential: {exc}") from None
        except NonConformant as exc:
            raise PermanentIssueError(str(exc)) from None
        # The dictionary must not depend on when it is computed (chunks start at any second): the
        # protected header of a fixed time differs from real ones only in sigT's few characters.
        dictionary = None if compiled is None else self.sealer.layout(compiled.sample().escaped, LAYOUT_TIME)
        return CredentialBuilder(self, template, compiled, link, dictionary)

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

        if not self.settings.wallet_url:
            return None
        return WalletClient(self.settings.wallet_url, api=(self.settings.env.get("EDC_WALLET_API") or "v2").strip())

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        from bridge.delivery.retry import RetryPolicy

        return RetryPolicy()

    def deliver(self, channel: str, *, credential_id: str, completion: dict[str, Any], credential_json: str,
                sealed: bytes, attempt: int, claim: Claim | None = None) -> DeliveryOutcome:
        """One attempt on one channel, turned into the next state of the delivery row.

        ``claim`` is called right before anything leaves (after the slow preparation, the PDF): it
        raises ``ClaimLost`` when the delivery is no longer the caller's, and gives the delivery's
        fixed Message-ID for the one it is offered. An unknown outcome (sent, answer lost) stays
        pending, recorded as unknown, and is retried later with that same Message-ID.
        """
        from bridge.delivery.errors import (
            DeliveryInputError,
            OutcomeUnknown,
            PermanentDeliveryError,
            TransientDeliveryError,
        )

        sent: dict[str, Any] = {}
        try:
            result = self._send(channel, credential_id, completion, credential_json, sealed,
                                claim or (lambda proposed: proposed), sent)
        except OutcomeUnknown as exc:
            delay = self.retry_policy.next_delay(attempt, exc.retry_after)
            if delay is None:
                return DeliveryOutcome("failed", error=f"gave up after {attempt} attempts; the last one's outcome "
                                       f"is unknown: {exc.message}", result={**sent, "outcome": "unknown"},
                                       unknown=True)
            return DeliveryOutcome("pending", error=f"outcome unknown: {exc.message}",
                                   retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay),
                                   result={**sent, "outcome": "unknown"}, unknown=True)
        except PermanentDeliveryError as exc:
            # ``result`` says what the learner's page offers instead (e.g. no wallet: the manual upload).
            return DeliveryOutcome("failed", error=str(exc), result=getattr(exc, "result", None))
        except DeliveryInputError as exc:
            return DeliveryOutcome("failed", error=str(exc))
        except TransientDeliveryError as exc:
            delay = self.retry_policy.next_delay(attempt, exc.retry_after)
            if delay is None:
                return DeliveryOutcome("failed", error=f"gave up after {attempt} attempts: {exc.message}")
            return DeliveryOutcome("pending", error=exc.message,
                                   retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=delay))
        return DeliveryOutcome("delivered", result=result)

    def _send(self, channel: str, credential_id: str, completion: dict[str, Any], credential_json: str,
              sealed: bytes, claim: Claim, sent: dict[str, Any]) -> dict[str, Any]:
        from bridge.delivery.errors import PermanentDeliveryError

        learner = completion["learner"]
        lang = learner.get("language") or "en"
        filename = f"credential-{credential_id}"
        if channel == "email":
            return self._email(credential_id, completion, credential_json, sealed, claim, sent)
        if channel == "wallet":
            if self.wallet is None:
                raise PermanentDeliveryError("the wallet channel is not configured (EDC_WALLET_URL)")
            claim(None)  # the deposit is the wallet's to deduplicate (409 for a credential it holds)
            deposit = self.wallet.deposit(learner["email"], sealed, filename, locale=lang)
            return {"wallet_status": deposit.status, "viewer_url": deposit.viewer_url}
        raise PermanentDeliveryError(f"unknown channel {channel!r}")

    def _email(self, credential_id: str, completion: dict[str, Any], credential_json: str,
               sealed: bytes, claim: Claim, sent: dict[str, Any]) -> dict[str, Any]:
        """The learner's e-mail: the page's link, the sealed file and the sealed PDF, the wallet's status.

        Its Message-ID is the delivery's own (``claim`` stores the first one offered and returns it
        on every later attempt), so a copy sent again after an unknown outcome is the same message.
        """
        from email.utils import make_msgid

        from bridge.delivery.addresses import mailbox
        from bridge.delivery.message import build_credential_message
        from bridge.elm.summary import summarise

        learner = completion["learner"]
        lang = learner.get("language") or "en"
        base = self.settings.public_url
        page_url = manage_url = pdf = None
        wallet = None
        if self.sessions is not None:
            from bridge.documents.store import ensure_page

            page = ensure_page(self.sessions, credential_id)
            page_url, manage_url = page.url(base), page.manage_url(base)
            pdf = self._pdf(credential_id, sealed) if self.email_pdf else None
            wallet = self._wallet_status(credential_id)
        transport = self.mail_transport
        domain = mailbox(transport.sender, "sender").domain
        message_id = claim(make_msgid(idstring=f"edc.{credential_id}", domain=domain))
        sent["message_id"] = message_id
        message = build_credential_message(
            to_email=learner["email"], learner_name=f"{learner['given_name']} {learner['family_name']}",
            lang=lang, summary=summarise(json.loads(credential_json), lang),
            sealed_bytes=sealed, filename=f"credential-{credential_id}", sender=transport.sender,
            page_url=page_url, manage_url=manage_url, verify_url=f"{base}/verify", pdf_bytes=pdf, wallet=wallet,
            message_id=message_id)
        return {"message_id": transport.send(message)}

    @property
    def email_pdf(self) -> bool:
        """``EDC_EMAIL_PDF`` (default on): attach the sealed PDF to the e-mail. Off, the PDF is made when
        it is first downloaded from the credential page, which keeps e-mail delivery at SMTP speed."""
        return (self.settings.env.get("EDC_EMAIL_PDF") or "1").strip().lower() not in ("0", "false", "no", "off")

    def _pdf(self, credential_id: str, sealed: bytes) -> bytes | None:
        """The stored PDF (made now the first time). A key source that is down postpones the e-mail;
        a PDF that cannot be made is left out (the page offers it) rather than holding the e-mail."""
        from bridge.delivery.errors import TransientDeliveryError
        from bridge.documents.store import stored_pdf
        from sealer.keys import KeySourceError

        try:
            return stored_pdf(self, credential_id, sealed)
        except KeySourceError as exc:
            raise TransientDeliveryError(f"the eSeal is not available to seal the PDF ({type(exc).__name__})") from None
        except Exception as exc:
            logger.error("credential %s: the PDF could not be made (%s: %s)", credential_id, type(exc).__name__,
                         self.safe_message(exc))
            return None

    def _wallet_status(self, credential_id: str) -> str | None:
        """What the e-mail says about the wallet: None without a wallet delivery, else delivered,
        no_wallet (the learner uploads it by hand), failed or pending."""
        from sqlalchemy import select

        from bridge.db.models import Delivery

        assert self.sessions is not None
        with self.sessions() as session:
            row = session.execute(select(Delivery.status, Delivery.result).where(
                Delivery.credential_id == credential_id, Delivery.channel == "wallet")).first()
        if row is None:
            return None
        status, result = row
        if status == "delivered":
            return "delivered"
        if isinstance(result, dict) and result.get("wallet_status") == "no_wallet":
            return "no_wallet"
        return "failed" if status in ("failed", "cancelled") else "pending"


class CredentialBuilder:
    """Builds the credentials of one template version, compiled (fast path) or assembled (fallback)."""

    def __init__(self, services: Services, template: dict[str, Any], compiled: CompiledTemplate | None,
                 link: str, dictionary: bytes | None) -> None:
        self._services = services
        self._template = template
        self._compiled = compiled
        self._link = link
        self.dictionary = dictionary
        """The text its sealed files share (sealed layout of the template's probe credential), or None."""

    def build(self, completion: dict[str, Any], *, credential_id: str,
              issued: dt.datetime) -> tuple[bytes, bytes | None]:
        """The credential's JSON text and, on the fast path, its JSON-escaped form for the sealer."""
        from bridge.elm.assemble import assemble
        from bridge.elm.conformance import NonConformant
        from bridge.elm.errors import ValidationFailed
        from bridge.elm.template import CourseTemplate

        credential_uri = f"urn:credential:{credential_id}"
        services = self._services
        try:
            parsed = stored_completion(completion)
            if self._compiled is not None:
                rendered = self._compiled.render_pair(parsed, credential_id=credential_uri, issued=issued)
                return rendered.payload, rendered.escaped
            credential = assemble(CourseTemplate.from_dict(self._template), parsed, services.issuer,
                                  credential_id=credential_uri, issued=issued, skill_labels=services.esco.labels,
                                  learning_opportunity=self._link)
            services.guard.ensure(credential)
        except ValidationFailed as exc:
            raise PermanentIssueError(f"cannot assemble the credential: {exc}") from None
        except NonConformant as exc:
            raise PermanentIssueError(str(exc)) from None
        return json.dumps(credential, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), None


def stored_completion(data: Any) -> Completion:
    """The completion of a credential row, as intake stored it (``Completion.to_dict`` of a validated one).

    Intake validated it already, and the compiled render type-checks every value it puts into the
    credential, so the stored normal form is read back directly (a fifth of the cost of full
    validation). Anything not in that normal form goes through ``Completion.from_dict``, which
    accepts it or raises ValidationFailed naming the field.
    """
    from bridge.elm.completion import Completion, Grade, Learner

    try:
        learner, grade = data["learner"], data["grade"]
        born = learner["date_of_birth"]
        completed = dt.datetime.fromisoformat(data["completed_at"])
        if (completed.tzinfo is None or not isinstance(data["passed"], bool) or set(data) != _STORED_KEYS
                or set(learner) != _STORED_LEARNER_KEYS):
            raise ValueError("not the stored normal form")
        return Completion(
            source=data["source"], course_id=data["course_id"],
            learner=Learner(id=learner["id"], given_name=learner["given_name"], family_name=learner["family_name"],
                            email=learner["email"], language=learner["language"],
                            date_of_birth=None if born is None else dt.date.fromisoformat(born)),
            grade=None if grade is None else Grade(score=grade["score"], max=grade["max"], text=grade["text"],
                                                   language=grade.get("language")),
            passed=data["passed"], completed_at=completed.astimezone(dt.UTC))
    except (KeyError, TypeError, ValueError, AttributeError):
        return Completion.from_dict(data)


_STORED_KEYS = frozenset({"source", "course_id", "learner", "grade", "passed", "completed_at"})
_STORED_LEARNER_KEYS = frozenset({"id", "given_name", "family_name", "email", "language", "date_of_birth"})
