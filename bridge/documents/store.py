"""The learner's page and PDF of each credential: created once, on the delivery side, and kept.

``ensure_page`` gives a credential its page (two random tokens: the public address and the learner's
hide/show link) the first time anything needs it — the e-mail, the admin API, a download — and
``stored_pdf`` makes the sealed PDF once (layout and PAdES seal cost tens of milliseconds) and stores
it; later calls read it back. Both are safe when two workers race: the database's unique key and a
compare-and-set on the empty PDF column decide, and the loser uses the winner's row.
"""
from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bridge.db.models import CourseTemplate, Credential, CredentialPage, utcnow

if TYPE_CHECKING:
    from bridge.tasks.services import Services

log = logging.getLogger(__name__)
PAGE_PATH = "/c/"


@dataclass(frozen=True)
class Page:
    """A credential's page: its public address and the learner's management link."""

    credential_id: str
    token: str
    manage_token: str
    hidden: bool

    def url(self, base: str) -> str:
        return f"{base}{PAGE_PATH}{self.token}"

    def manage_url(self, base: str) -> str:
        return f"{base}{PAGE_PATH}manage/{self.manage_token}"


def _page(row: CredentialPage) -> Page:
    return Page(row.credential_id, row.token, row.manage_token, bool(row.hidden))


def ensure_page(sessions: sessionmaker[Session], credential_id: str) -> Page:
    """The credential's page, created on first use."""
    with sessions() as session:
        row = session.get(CredentialPage, credential_id)
        if row is not None:
            return _page(row)
        row = CredentialPage(credential_id=credential_id, token=secrets.token_urlsafe(24),
                             manage_token=secrets.token_urlsafe(24), hidden=False, created_at=utcnow())
        session.add(row)
        try:
            session.commit()
            return _page(row)
        except IntegrityError:  # another worker created it first
            session.rollback()
    with sessions() as session:
        found = session.get(CredentialPage, credential_id)
        assert found is not None
        return _page(found)


def page_by_token(session: Session, token: str) -> tuple[CredentialPage, Credential] | None:
    row = session.execute(select(CredentialPage, Credential).join(
        Credential, Credential.id == CredentialPage.credential_id).where(CredentialPage.token == token)).first()
    return None if row is None else (row[0], row[1])


def page_by_manage_token(session: Session, token: str) -> tuple[CredentialPage, Credential] | None:
    row = session.execute(select(CredentialPage, Credential).join(
        Credential, Credential.id == CredentialPage.credential_id).where(CredentialPage.manage_token == token)).first()
    return None if row is None else (row[0], row[1])


def set_hidden(sessions: sessionmaker[Session], credential_id: str, hidden: bool) -> None:
    with sessions() as session:
        session.execute(update(CredentialPage).where(CredentialPage.credential_id == credential_id)
                        .values(hidden=hidden, hidden_at=utcnow() if hidden else None))
        session.commit()


def presentation_of(session: Session, source: str, course_id: str) -> Any:
    """The course template's presentation settings (defaults when the template is gone or invalid)."""
    from bridge.elm.errors import ValidationFailed
    from bridge.elm.template import CourseTemplate as Template
    from bridge.elm.template import Presentation

    stored = session.scalar(select(CourseTemplate.template).where(CourseTemplate.source == source,
                                                                  CourseTemplate.course_id == course_id))
    try:
        return Template.from_dict(stored).presentation if stored else Presentation()
    except ValidationFailed:
        return Presentation()


def document_language(completion: dict[str, Any], credential: dict[str, Any]) -> str:
    """The learner's language when they gave one, else the credential's primary language."""
    learner = completion.get("learner") if isinstance(completion, dict) else None
    lang = learner.get("language") if isinstance(learner, dict) else None
    if isinstance(lang, str) and lang:
        return lang
    primary = (credential.get("displayParameter") or {}).get("primaryLanguage") or {}
    uri = primary.get("id") if isinstance(primary, dict) else None
    from bridge.elm import codelists

    by_authority = {auth: iso for iso, (auth, _en, _native) in codelists.LANGUAGES.items()}
    return by_authority.get(str(uri or "").rsplit("/", 1)[-1], "en")


def stored_pdf(services: Services, credential_id: str, sealed: bytes) -> bytes:
    """The credential's sealed PDF: read back when it was made already, else made now and stored."""
    from bridge.documents.pdf import render_pdf
    from bridge.documents.view import from_credential
    from bridge.l10n import translations
    from sealer.pades import seal_pdf

    sessions = services.sessions
    page = ensure_page(sessions, credential_id)
    with sessions() as session:
        existing = session.scalar(select(CredentialPage.pdf).where(CredentialPage.credential_id == credential_id))
        if existing is not None:
            return bytes(existing)
        row = session.get(Credential, credential_id)
        if row is None:
            raise LookupError(f"no credential {credential_id}")
        presentation = presentation_of(session, row.source, row.course_id)
        completion = dict(row.completion)
    credential = json.loads(json.loads(sealed)["payload"])
    lang = document_language(completion, credential)
    base = services.settings.public_url
    view = from_credential(credential, lang, presentation=presentation, page_url=page.url(base))
    pdf = render_pdf(view, attachment=sealed, attachment_name=f"credential-{credential_id}.jsonld")
    reason = translations(lang).gettext("European Digital Credential awarded by %(body)s") % {"body": view.body_name}
    sealed_pdf = seal_pdf(pdf, services.key_source, tsa_url=services.settings.tsa_url, reason=reason,
                          name=view.issuer_name or None)
    with sessions() as session:
        won = session.execute(update(CredentialPage).where(CredentialPage.credential_id == credential_id,
                                                           CredentialPage.pdf.is_(None))
                              .values(pdf=sealed_pdf, pdf_lang=lang, pdf_made_at=utcnow())).rowcount
        session.commit()
        if not won:  # another worker stored one first: serve that one, so every copy is the same file
            stored = session.scalar(select(CredentialPage.pdf).where(CredentialPage.credential_id == credential_id))
            return bytes(stored) if stored is not None else sealed_pdf
    log.info("credential %s: PDF made and stored (%d bytes)", credential_id, len(sealed_pdf))
    return sealed_pdf
