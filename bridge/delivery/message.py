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
from email.headerregistry import Address
from email.utils import format_datetime, make_msgid
from typing import Any

from bridge.delivery import mime
from bridge.delivery.addresses import check_display_name, mailbox, make_address
from bridge.delivery.content import is_web_link, view_from_summary
from bridge.delivery.errors import DeliveryInputError
from bridge.delivery.i18n import environment, negotiate
from bridge.delivery.mime import OutgoingMessage
from bridge.l10n import translations

WALLET_URL = "https://europa.eu/europass/en/wallet"
ATTACHMENT_SUFFIX = ".jsonld"
WALLET_STATUSES = ("delivered", "pending", "no_wallet", "failed")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The subject title is capped so the Subject stays short however long a course title is.
_MAX_SUBJECT_TITLE = 150
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
    page_url: str | None = None,
    manage_url: str | None = None,
    pdf_bytes: bytes | None = None,
    wallet: str | None = None,
    colour: str = "#003399",
    accent: str = "#ffcc00",
    message_id: str | None = None,
) -> OutgoingMessage:
    """Return a ready-to-send message in the learner's language (English when we have no catalogue).

    ``message_id``: the Message-ID to carry (``<…@…>``), fixed per delivery so that every attempt
    sends the same one; a new one is made when None.

    ``page_url``: the learner's credential page (the "View your credential" button, and where "Verify"
    points); ``manage_url``: their link to hide the page; ``verify_url``: the public verification page,
    used when there is no credential page. ``pdf_bytes`` is attached as ``<filename>.pdf``. ``wallet``:
    the Europass deposit's status when the wallet channel runs (``WALLET_STATUSES``), else None (the
    e-mail explains the manual upload). Raises :class:`DeliveryInputError` naming the first unusable
    argument; nothing is built then.
    """
    recipient = make_address(check_display_name(learner_name, "learner_name"), to_email, "to_email")
    from_box = mailbox(sender, "sender")
    reply_box = mailbox(reply_to, "reply_to") if reply_to is not None else None
    if not isinstance(sealed_bytes, bytes | bytearray) or not sealed_bytes:
        raise DeliveryInputError("sealed_bytes", "the sealed credential must be non-empty bytes")
    for name, url in (("verify_url", verify_url), ("page_url", page_url), ("manage_url", manage_url)):
        if url is not None and not is_web_link(url):
            raise DeliveryInputError(name, "must be an http(s) URL")
    if wallet is not None and wallet not in WALLET_STATUSES:
        raise DeliveryInputError("wallet", f"must be one of {', '.join(WALLET_STATUSES)}")
    for name, value in (("colour", colour), ("accent", accent)):
        if not isinstance(value, str) or not _COLOUR.match(value):
            raise DeliveryInputError(name, "must be a colour like #003399")
    if pdf_bytes is not None and not (isinstance(pdf_bytes, bytes | bytearray) and pdf_bytes.startswith(b"%PDF-")):
        raise DeliveryInputError("pdf_bytes", "must be a PDF document")
    attachment = attachment_name(filename)
    pdf_attachment = attachment_name(filename, ".pdf") if pdf_bytes else None
    language = negotiate(lang)
    view = view_from_summary(summary, language)

    context = {
        "lang": language,
        "learner_name": recipient.display_name,
        "credential": view,
        "verify_url": verify_url,
        "page_url": page_url,
        "manage_url": manage_url,
        "attachment": attachment,
        "pdf_attachment": pdf_attachment,
        "wallet": wallet,
        "wallet_url": WALLET_URL,
        "colour": colour,
        "accent": accent,
        "link_colour": colour,
    }
    env = environment(language)
    text_body = env.get_template("credential.txt").render(context)
    html_body = env.get_template("credential.html").render(context)

    catalogue = translations(language)
    if view.title:
        subject = catalogue.gettext("Your credential: %(title)s") % {"title": _subject_title(view.title)}
    else:
        subject = catalogue.gettext("Your European Digital Credential")

    # A non-ASCII mailbox name (josé@…) can only travel as raw UTF-8 (RFC 6532) with SMTPUTF8, never as
    # an encoded word; the headers are then written in raw UTF-8 too, as the email package does.
    utf8 = not (recipient.username.isascii() and from_box.username.isascii())
    return _assemble(
        subject=subject, language=language, from_box=from_box, recipient=recipient, reply_box=reply_box,
        text_body=text_body, html_body=html_body, sealed_bytes=bytes(sealed_bytes), attachment=attachment,
        utf8=utf8, pdf=(pdf_attachment, bytes(pdf_bytes)) if pdf_attachment and pdf_bytes else None,
        message_id=message_id,
    )


def _assemble(*, subject: str, language: str, from_box: Address, recipient: Address, reply_box: Address | None,
              text_body: str, html_body: str, sealed_bytes: bytes, attachment: str, utf8: bool,
              pdf: tuple[str, bytes] | None = None, message_id: str | None = None) -> OutgoingMessage:
    """multipart/mixed [multipart/alternative [text/plain, text/html], application/ld+json attachment,
    application/pdf attachment when there is one]."""
    alternative_type, alternative = mime.multipart(
        "alternative", [mime.text_part("plain", text_body), mime.text_part("html", html_body)]
    )
    parts = [mime.mime_part(alternative_type, alternative),
             mime.attachment_part("application/ld+json", attachment, sealed_bytes)]
    if pdf is not None:
        parts.append(mime.attachment_part("application/pdf", pdf[0], pdf[1]))
    mixed_type, body = mime.multipart("mixed", parts)
    return outgoing(subject=subject, language=language, from_box=from_box, recipient=recipient, reply_box=reply_box,
                    content_type=mixed_type, body=body, utf8=utf8, message_id=message_id)


def outgoing(*, subject: str, language: str, from_box: Address, recipient: Address, reply_box: Address | None,
             content_type: str, body: bytes, utf8: bool, message_id: str | None = None) -> OutgoingMessage:
    """The message to a learner around a MIME ``body``: the one place our headers are written (Subject,
    From, To, Reply-To, Date, Message-ID, Auto-Submitted, MIME-Version, Content-Type, Content-Language),
    for credential e-mails and notices alike. ``utf8``: headers in raw UTF-8 (RFC 6532, sent with
    SMTPUTF8), needed when a mailbox name is not ASCII. ``message_id``: a Message-ID chosen beforehand."""
    msgid = message_id or make_msgid(domain=from_box.domain)
    date = format_datetime(datetime.now(UTC))
    from_line, from_text = _mailbox_header("From", from_box, utf8)
    to_line, to_text = _mailbox_header("To", recipient, utf8)
    headers = [
        ("Subject", subject, mime.unstructured("Subject", subject, utf8=utf8)),
        ("From", from_text, from_line),
        ("To", to_text, to_line),
    ]
    if reply_box is not None:
        reply_line, reply_text = _mailbox_header("Reply-To", reply_box, utf8)
        headers.append(("Reply-To", reply_text, reply_line))
    headers += [
        ("Date", date, mime.unstructured("Date", date)),
        ("Message-ID", msgid, mime.unstructured("Message-ID", msgid)),
        ("Auto-Submitted", "auto-generated", b"Auto-Submitted: auto-generated\r\n"),
        ("MIME-Version", "1.0", b"MIME-Version: 1.0\r\n"),
        ("Content-Type", content_type, mime.fold("Content-Type", content_type.split(" "))),
        ("Content-Language", language, mime.unstructured("Content-Language", language)),
    ]
    return OutgoingMessage(mail_from=from_box.addr_spec, recipients=(recipient.addr_spec,), headers=headers,
                           body=body, smtputf8=utf8)


def _mailbox_header(name: str, box: Address, utf8: bool) -> tuple[bytes, str]:
    return mime.address(name, box.display_name, box.addr_spec, utf8=utf8)
