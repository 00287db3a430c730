"""Short notices to a learner about their credential (today: its revocation), in their language.

Plain text only, no attachment: the notice says what happened and why, and who to contact; it is
sent through the same transport as credentials (SMTP or the ``.eml`` outbox).
"""
from __future__ import annotations

from bridge.delivery import mime
from bridge.delivery.addresses import check_display_name, mailbox, make_address
from bridge.delivery.i18n import negotiate
from bridge.delivery.message import outgoing
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
    return outgoing(subject=subject, language=language, from_box=from_box, recipient=recipient, reply_box=None,
                    content_type=content_type, body=body, utf8=utf8)
