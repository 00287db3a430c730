"""Exception types shared by every delivery channel (email, Europass wallet).

The pipeline only needs to know one thing about a failed delivery: try again later or give up.
``TransientDeliveryError`` and ``PermanentDeliveryError`` carry exactly that decision, so callers
never inspect SMTP codes or HTTP statuses themselves. Messages are safe to log and to show in the
API: they never contain passwords, tokens or the learner's address (see :func:`redact`).
"""
from __future__ import annotations

import re

_EMAIL_LIKE = re.compile(r"[^\s<>()\"',;:]+@[^\s<>()\"',;:]+")
_MAX_DETAIL = 300


def redact(text: str) -> str:
    """Strip e-mail addresses from a remote party's answer before it reaches logs or error messages.

    SMTP servers and web services like to echo the recipient ("<camille@example.org>: mailbox
    unavailable"); that is personal data, and the reason stays clear without it.
    """
    cleaned = _EMAIL_LIKE.sub("<address>", " ".join(text.split()))
    if len(cleaned) > _MAX_DETAIL:
        cleaned = cleaned[: _MAX_DETAIL - 1] + "…"
    return cleaned


class DeliveryError(Exception):
    """A credential could not be delivered; ``code`` is the SMTP code or HTTP status when there was one."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (recipient refused, credential rejected, misconfiguration): mark as failed."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (server down, 4xx, timeout). ``retry_after`` is the server's hint in seconds."""

    def __init__(self, message: str, *, code: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class DeliveryInputError(ValueError):
    """A caller passed an unusable value (bad address, unknown setting); ``field`` names it.

    Raised before anything is sent or written, so there is never half-done work to clean up.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class OutcomeUnknown(TransientDeliveryError):
    """The message went out but no answer came back (connection lost after the final "." of DATA).

    The server may hold a copy or not (RFC 5321 §4.1.1.4 and RFC 1047): the pipeline records the
    attempt as unknown and retries later with the same Message-ID, so a copy that did arrive twice is
    recognisable as one message.
    """
