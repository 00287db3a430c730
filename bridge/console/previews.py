"""What a course template produces, for a sample learner: the credential (as assembled, before
sealing), the e-mail the learner would receive, and the learner page.

The real builders are used (``bridge.elm.assemble``, ``bridge.delivery.message``), so the preview
is what issuance would produce — only the learner is made up and nothing is sealed or sent.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bridge.db.models import Credential, CredentialPage
from bridge.documents.store import PAGE_PATH
from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.errors import ValidationFailed
from bridge.elm.learning_opportunity import opportunity_url
from bridge.elm.summary import summarise
from bridge.elm.template import CourseTemplate
from bridge.tasks.services import Services

PREVIEW_ID = "00000000-0000-4000-8000-000000000000"


def sample_completion(source: str, course_id: str, lang: str) -> Completion:
    return Completion.from_dict({
        "source": source, "course_id": course_id,
        "learner": {"id": "preview", "given_name": "Camille", "family_name": "Exemple",
                    "email": "camille.exemple@example.org", "language": lang},
        "grade": {"score": 87.5, "max": 100, "text": "87.5 / 100"}, "passed": True,
        "completed_at": "2026-06-30T10:00:00Z"})


def credential(services: Services, template: dict[str, Any], source: str, course_id: str,
               lang: str) -> dict[str, Any]:
    """The credential this template assembles for the sample learner (raises ValidationFailed)."""
    link = opportunity_url(services.settings.public_url, source, course_id)
    return assemble(CourseTemplate.from_dict(template), sample_completion(source, course_id, lang), services.issuer,
                    credential_id=f"urn:credential:{PREVIEW_ID}",
                    issued=dt.datetime(2026, 6, 30, 12, 0, tzinfo=dt.UTC),
                    skill_labels=services.esco.labels, learning_opportunity=link)


def mail(services: Services, document: dict[str, Any], lang: str) -> dict[str, str]:
    """Subject, plain text and HTML of the credential e-mail for the sample learner."""
    from bridge.delivery.message import build_credential_message

    message = build_credential_message(
        to_email="camille.exemple@example.org", learner_name="Camille Exemple", lang=lang,
        summary=summarise(document, lang), sealed_bytes=json.dumps(document).encode("utf-8"),
        filename=f"credential-{PREVIEW_ID}", sender=services.mail_transport.sender)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    parts = {"subject": str(parsed["Subject"]), "text": "", "html": ""}
    for part in parsed.walk():
        if part.get_content_type() == "text/plain" and not parts["text"]:
            parts["text"] = part.get_content()
        elif part.get_content_type() == "text/html" and not parts["html"]:
            parts["html"] = part.get_content()
    return parts


def learner_page(session: Session, public_url: str, source: str, course_id: str) -> str | None:
    """The address of the learner page (``/c/{token}``, bridge.web.credential_page) of this course's
    latest sealed credential, or None when the course has none yet: the page is rendered from a sealed
    credential and its live verification, so it is shown for a real one rather than imitated."""
    token = session.scalar(select(CredentialPage.token).join(Credential, Credential.id == CredentialPage.credential_id)
                           .where(Credential.source == source, Credential.course_id == course_id,
                                  Credential.status.in_(("sealed", "delivered", "partially_delivered")),
                                  CredentialPage.hidden.is_(False))
                           .order_by(Credential.sealed_at.desc()).limit(1))
    return f"{public_url}{PAGE_PATH}{token}" if token else None


__all__ = ["ValidationFailed", "credential", "learner_page", "mail", "sample_completion"]
