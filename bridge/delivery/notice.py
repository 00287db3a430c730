"""Short notices to a learner about their credential (today: its revocation), in their language.

Plain text only, no attachment: the notice says what happened and why, and who to contact; it is
sent through the same transport as credentials (SMTP or the ``.eml`` outbox).
"""
from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid

from bridge.delivery import mime
from bridge.delivery.addresses import check_display_name, mailbox, make_address
from bridge.delivery.i18n import negotiate
from bridge.delivery.mime import OutgoingMessage
from bridge.l10n import translations


def build_revocation_notice(*, to_email: str, learner_name: str | None, lang: str | None, title: str | None,
                            reason: str, issuer: str | None, sender: str) -> OutgoingMessage:
    """The message telling a learner that ``title`` was revoked, with the registrar's ``reason``."""
    language = negotiate(lang)
    _ = translations(language).gettext
    recipient = make_address(check_display_name(learner_name, "learner_name"), to_email, "to_email")
    from_box = mailbox(sender, "sender")
    what = title or _("your European Digital Credential")
    lines = [_("Dear %(name)s,") % {"name": recipient.display_name or to_email}, "",
             _("The credential \u201c%(title)s\u201d issued to you has been revoked.") % {"title": what},
             _("Reason given: %(reason)s") % {"reason": reason}, "",
             _("Verifiers will now see it as revoked. If you think this is a mistake, contact %(issuer)s.")
             % {"issuer": issuer or _("the issuing institution")}]
    subject = _("Your credential was revoked: %(title)s") % {"title": " ".join(what.split())[:150]}
    content_type, body = mime.multipart("alternative", [mime.text_part("plain", "\n".join(lines))])
    utf8 = not (recipient.username.isascii() and from_box.username.isascii())
    from_line, from_text = mime.address("From", from_box.display_name, from_box.addr_spec, utf8=utf8)
    to_line, to_text = mime.address("To", recipient.display_name, recipient.addr_spec, utf8=utf8)
    msgid = make_msgid(domain=from_box.domain)
    date = format_datetime(datetime.now(UTC))
    headers = [
        ("Subject", subject, mime.unstructured("Subject", subject, utf8=utf8)),
        ("From", from_text, from_line),
        ("To", to_text, to_line),
        ("Date", date, mime.unstructured("Date", date)),
        ("Message-ID", msgid, mime.unstructured("Message-ID", msgid)),
        ("Auto-Submitted", "auto-generated", b"Auto-Submitted: auto-generated\r\n"),
        ("MIME-Version", "1.0", b"MIME-Version: 1.0\r\n"),
        ("Content-Type", content_type, mime.fold("Content-Type", content_type.split(" "))),
        ("Content-Language", language, mime.unstructured("Content-Language", language)),
    ]
    return OutgoingMessage(mail_from=from_box.addr_spec, recipients=(recipient.addr_spec,), headers=headers,
                           body=body, smtputf8=utf8)
