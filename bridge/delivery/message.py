"""Build the e-mail that hands a learner their sealed credential.

One message, two audiences: the learner reads a localised summary (plain text and HTML), and any
EDC-aware tool gets the untouched sealed file as an ``application/ld+json`` attachment. The
attachment is the exact byte string that was sealed, because re-serialising JSON would break the
seal.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from bridge.delivery.addresses import check_display_name, mailbox, make_address
from bridge.delivery.content import is_web_link, view_from_summary
from bridge.delivery.errors import DeliveryInputError
from bridge.delivery.i18n import environment, negotiate
from bridge.l10n import translations

WALLET_URL = "https://europa.eu/europass/en/wallet"
ATTACHMENT_SUFFIX = ".jsonld"
_MAX_SUBJECT_TITLE = 150
# Python's header folder drops the space between two RFC 2047 encoded words when it has to fold
# (a French "niveau « avancé »" subject arrives as "niveau «avancé »"). Serialising without folding
# avoids it; the subject title is capped so the header stays far below the 998-octet line limit.
MESSAGE_POLICY = policy.default.clone(max_line_length=None)
_FILENAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,150}$")


def attachment_name(filename: object, suffix: str = ATTACHMENT_SUFFIX) -> str:
    """``<filename><suffix>`` (a name already ending in the suffix is not doubled), safe as a file name.

    Mail clients and the wallet save attachments under this name, so no paths or odd characters.
    """
    if not isinstance(filename, str):
        raise DeliveryInputError("filename", "must be a string")
    stem = filename[: -len(suffix)] if filename.lower().endswith(suffix) else filename
    if not _FILENAME.match(stem) or ".." in stem:
        raise DeliveryInputError(
            "filename", "use letters, digits, '.', '_' and '-' only (no paths), at most 150 characters"
        )
    return stem + suffix


def _subject_title(text: str) -> str:
    title = " ".join(text.split())
    return title if len(title) <= _MAX_SUBJECT_TITLE else title[: _MAX_SUBJECT_TITLE - 1].rstrip() + "…"


def build_credential_message(
    *,
    to_email: str,
    learner_name: str | None,
    lang: str | None,
    summary: Mapping[str, Any] | None,
    sealed_bytes: bytes,
    filename: str,
    verify_url: str | None = None,
    sender: str,
    reply_to: str | None = None,
) -> EmailMessage:
    """Return a ready-to-send message in the learner's language (English when we have no catalogue).

    Raises :class:`DeliveryInputError` naming the first unusable argument; nothing is built then.
    """
    recipient = make_address(check_display_name(learner_name, "learner_name"), to_email, "to_email")
    from_box = mailbox(sender, "sender")
    reply_box = mailbox(reply_to, "reply_to") if reply_to is not None else None
    if not isinstance(sealed_bytes, bytes | bytearray) or not sealed_bytes:
        raise DeliveryInputError("sealed_bytes", "the sealed credential must be non-empty bytes")
    if verify_url is not None and not is_web_link(verify_url):
        raise DeliveryInputError("verify_url", "must be an http(s) URL")
    attachment = attachment_name(filename)
    language = negotiate(lang)
    view = view_from_summary(summary, language)

    context = {
        "lang": language,
        "learner_name": recipient.display_name,
        "credential": view,
        "verify_url": verify_url,
        "attachment": attachment,
        "wallet_url": WALLET_URL,
    }
    env = environment(language)
    text_body = env.get_template("credential.txt").render(context)
    html_body = env.get_template("credential.html").render(context)

    catalogue = translations(language)
    if view.title:
        subject = catalogue.gettext("Your credential: %(title)s") % {"title": _subject_title(view.title)}
    else:
        subject = catalogue.gettext("Your European Digital Credential")

    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = from_box
    msg["To"] = recipient
    if reply_box is not None:
        msg["Reply-To"] = reply_box
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=from_box.domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text_body, subtype="plain", charset="utf-8")
    msg.add_alternative(html_body, subtype="html", charset="utf-8")
    msg.add_attachment(bytes(sealed_bytes), maintype="application", subtype="ld+json", filename=attachment)
    # After the body: set_content()/add_alternative() move Content-* headers into the sub-parts.
    msg["Content-Language"] = language
    # The policy is used by smtplib.send_message and as_bytes(); bodies are already encoded. A non-ASCII
    # mailbox name (josé@…) can only travel as raw UTF-8 (RFC 6532), never as an encoded word.
    international = not (recipient.username.isascii() and from_box.username.isascii())
    msg.policy = MESSAGE_POLICY.clone(utf8=True) if international else MESSAGE_POLICY
    return msg
