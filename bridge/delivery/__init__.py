"""Deliver sealed credentials to learners: by e-mail and into the Europass wallet.

Plain functions and classes, free of Flask and the database, so the pipeline (``bridge.tasks``)
calls them and decides what to persist; every failure is either
:class:`~bridge.delivery.errors.TransientDeliveryError` (retry later, see ``RetryPolicy``) or
:class:`~bridge.delivery.errors.PermanentDeliveryError` (give up), and bad arguments raise
:class:`~bridge.delivery.errors.DeliveryInputError` with ``.field`` before anything is sent.

Public API::

    from bridge.delivery.message import build_credential_message
    msg = build_credential_message(*, to_email, learner_name, lang, summary, sealed_bytes, filename,
                                   verify_url=None, sender, reply_to=None) -> OutgoingMessage
        # text + HTML in the learner's language (catalogues in bridge/i18n, English fallback),
        # sealed bytes attached unchanged as <filename>.jsonld (application/ld+json)
    # bridge.delivery.mime.OutgoingMessage: envelope (.mail_from, .recipients, .smtputf8) and the wire
    # bytes (.as_bytes(), CRLF); msg["Subject"] etc. read header text; written without EmailMessage

    from bridge.delivery.email import MailTransport, SmtpTransport, OutboxTransport, transport_from_config
    transport = transport_from_config(os.environ)     # SMTP when EDC_SMTP_HOST is set, else .eml outbox
    transport.sender                                  # the configured From (EDC_MAIL_FROM)
    transport.send(msg) -> str                        # the Message-ID; sends msg.as_bytes() unchanged
    SmtpTransport(host, port=None, security="starttls"|"ssl"|"none", username=None, password=None,
                  timeout=30.0, *, sender=..., ssl_context=None)
    OutboxTransport(directory, *, sender=...)

    from bridge.delivery.wallet import WalletClient, WalletResult
    WalletClient(base_url, timeout=30.0, bearer_token=None).deposit(
        email, sealed_bytes, filename, locale="en", send_email=True, xml=False
    ) -> WalletResult(status="delivered"|"already_present", viewer_url=str|None)

    from bridge.delivery.retry import RetryPolicy     # also importable from bridge.delivery.wallet
    RetryPolicy(max_attempts=8, base_delay=60, factor=2, max_delay=21600, jitter=0.25)
        .next_delay(attempt, retry_after=None) -> float | None   # None: attempt was the last one

    from bridge.delivery.errors import (DeliveryError, PermanentDeliveryError, TransientDeliveryError,
                                        DeliveryInputError, redact)
    # DeliveryError.code: SMTP code / HTTP status or None; TransientDeliveryError.retry_after: seconds

Settings: see the table in :mod:`bridge.delivery.email`. Translations: ``scripts/i18n.sh``.
"""
