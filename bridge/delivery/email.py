"""Send credential e-mails: over SMTP, or into an outbox folder of ``.eml`` files.

Both transports implement :class:`MailTransport` so the pipeline never cares which one runs. The
outbox is the embedded default: a fresh install with no mail server still "delivers", and an
operator can open or forward the files. SMTP failures are sorted into
:class:`~bridge.delivery.errors.TransientDeliveryError` (try again later) and
:class:`~bridge.delivery.errors.PermanentDeliveryError` (give up); error messages never carry the
password or the recipient's address.

Configuration read by :func:`transport_from_config` (environment variables or any mapping):

| Variable | Default | Meaning |
|---|---|---|
| `EDC_SMTP_HOST` | unset | SMTP server name or IP. Unset: mail is written to the outbox folder instead. |
| `EDC_SMTP_PORT` | `587` (starttls), `465` (ssl), `25` (none) | SMTP server port. |
| `EDC_SMTP_SECURITY` | `starttls` | `starttls` (upgrade after connecting), `ssl` (implicit TLS) or `none` (loopback only when a password is set). |
| `EDC_SMTP_USERNAME` | unset | SMTP AUTH user; set it together with the password. |
| `EDC_SMTP_PASSWORD` / `EDC_SMTP_PASSWORD_FILE` | unset | SMTP AUTH password, or a file holding it (trailing newline ignored). |
| `EDC_SMTP_TIMEOUT` | `30` | Seconds to wait for the SMTP server before the attempt counts as transient failure. |
| `EDC_MAIL_FROM` | required with SMTP; `EDC Bridge <no-reply@edc-bridge.localhost>` for the outbox | `From:` of credential e-mails, `Name <address>` or a bare address. |
| `EDC_OUTBOX_DIR` | `$EDC_DATA_DIR/outbox`, else `./var/outbox` | Folder receiving one `.eml` file per message when no SMTP host is set. |
"""  # noqa: E501  (a Markdown table meant to be copied into the README)
from __future__ import annotations

import hashlib
import ipaddress
import logging
import os
import smtplib
import ssl
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Literal

from bridge.delivery.addresses import mailbox
from bridge.delivery.errors import (
    DeliveryError,
    DeliveryInputError,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
SECURITY_MODES: tuple[str, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
OUTBOX_SENDER = "EDC Bridge <no-reply@edc-bridge.localhost>"


class MailTransport(ABC):
    """Something that takes a finished message and hands it on; ``sender`` is the configured From."""

    sender: str

    @abstractmethod
    def send(self, msg: EmailMessage) -> str:
        """Deliver ``msg`` and return its Message-ID, or raise a Permanent/TransientDeliveryError."""


def message_id(msg: EmailMessage, sender: str) -> str:
    """The message's Message-ID, adding one (in the sender's domain) when the caller left it out."""
    existing = msg.get("Message-ID")
    if existing:
        return str(existing).strip()
    msg["Message-ID"] = make_msgid(domain=mailbox(sender, "sender").domain)
    return str(msg["Message-ID"])


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _by_code(code: int, what: str, detail: str) -> DeliveryError:
    """SMTP reply classes: 5xx will fail again, 4xx (and odd codes) may succeed later."""
    text = f"{what}: {code} {detail}".rstrip()
    if 500 <= code < 600:
        return PermanentDeliveryError(text, code=code)
    return TransientDeliveryError(text, code=code if code > 0 else None)


def _decode(raw: bytes | str) -> str:
    return redact(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))


def classify_smtp_error(exc: BaseException) -> DeliveryError:
    """Map what smtplib/ssl/socket raised to a delivery error whose text is safe to log."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        code = min((answer[0] for answer in answers), default=0)
        detail = _decode(answers[0][1]) if answers else ""
        return _by_code(code, "recipient refused by the mail server", detail)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _by_code(exc.smtp_code, "SMTP authentication failed (check EDC_SMTP_USERNAME/PASSWORD)",
                        _decode(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _by_code(exc.smtp_code, "sender address refused by the mail server", _decode(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPDataError):
        return _by_code(exc.smtp_code, "message refused by the mail server", _decode(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, "mail server error", _decode(exc.smtp_error))
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryError(
            "the mail server lacks a required extension (STARTTLS, AUTH, or SMTPUTF8 for a non-ASCII address)"
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        if isinstance(exc.__context__, TimeoutError):  # smtplib reports a read timeout as a disconnect
            return TransientDeliveryError("the mail server did not answer in time")
        return TransientDeliveryError("the mail server closed the connection")
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or "verification failed"
        return PermanentDeliveryError(f"the mail server's TLS certificate is not trusted ({reason})")
    if isinstance(exc, ssl.SSLError):
        return PermanentDeliveryError(
            "TLS handshake with the mail server failed; check EDC_SMTP_SECURITY and EDC_SMTP_PORT"
        )
    if isinstance(exc, TimeoutError):
        return TransientDeliveryError("the mail server did not answer in time")
    if isinstance(exc, OSError):
        return TransientDeliveryError(f"cannot reach the mail server ({exc.strerror or type(exc).__name__})")
    return TransientDeliveryError(f"SMTP failure ({type(exc).__name__})")


class SmtpTransport(MailTransport):
    """Submit mail to an SMTP server, one connection per message (the pipeline sends few, in bursts)."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        *,
        sender: str = OUTBOX_SENDER,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host or any(c.isspace() for c in host):
            raise DeliveryInputError("host", "an SMTP host name is required")
        if security not in SECURITY_MODES:
            raise DeliveryInputError("security", f"must be one of {', '.join(SECURITY_MODES)}")
        port = DEFAULT_PORTS[security] if port is None else port
        if not 0 < port < 65536:
            raise DeliveryInputError("port", "must be between 1 and 65535")
        if (username is None) != (password is None):
            raise DeliveryInputError("username", "SMTP username and password must be set together")
        if password is not None and security == "none" and not _is_loopback(host):
            raise DeliveryInputError("security", "refusing to send the SMTP password without TLS")
        if timeout <= 0:
            raise DeliveryInputError("timeout", "must be positive")
        mailbox(sender, "sender")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.sender = sender
        self._ssl_context = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:
        auth = f", username={self.username!r}, password='***'" if self.username else ""
        return f"SmtpTransport({self.host!r}, {self.port}, security={self.security!r}{auth})"

    def _open(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._ssl_context)
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def send(self, msg: EmailMessage) -> str:
        msgid = message_id(msg, self.sender)
        try:
            with self._open() as smtp:
                if self.security == "starttls":
                    smtp.ehlo()
                    smtp.starttls(context=self._ssl_context)
                    smtp.ehlo()
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(msg)
        except DeliveryError:
            raise
        except Exception as exc:
            error = classify_smtp_error(exc)
            log.warning("SMTP delivery of %s failed: %s", msgid, error.message)
            raise error from None  # the original may quote the recipient's address
        if refused:
            # Only possible with several recipients: the others already got it, so a retry would duplicate.
            log.warning("SMTP server refused %d of the recipients of %s", len(refused), msgid)
        log.info("sent %s via %s:%d", msgid, self.host, self.port)
        return msgid


class OutboxTransport(MailTransport):
    """Write each message to ``directory`` as an ``.eml`` file, for installs without a mail server.

    Files appear atomically (written under a temporary name, fsynced, then renamed), so a reader or
    a crash never sees half a message; they are private to the owner since they hold personal data.
    """

    def __init__(self, directory: str | os.PathLike[str], *, sender: str = OUTBOX_SENDER) -> None:
        mailbox(sender, "sender")
        self.directory = Path(directory)
        self.sender = sender

    def __repr__(self) -> str:
        return f"OutboxTransport({str(self.directory)!r})"

    def send(self, msg: EmailMessage) -> str:
        msgid = message_id(msg, self.sender)
        data = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{hashlib.sha256(msgid.encode()).hexdigest()[:16]}.eml"
        tmp_name: str | None = None
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=self.directory, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.directory / name)
            tmp_name = None
        except OSError as exc:
            raise TransientDeliveryError(
                f"cannot write to the outbox folder ({exc.strerror or type(exc).__name__})"
            ) from None
        finally:
            if tmp_name is not None:
                Path(tmp_name).unlink(missing_ok=True)
        log.info("wrote %s to the outbox as %s", msgid, name)
        return msgid


def _setting(config: Mapping[str, str], name: str) -> str | None:
    value = config.get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _secret(config: Mapping[str, str], name: str) -> str | None:
    """NAME, or the content of the file named by NAME_FILE, so the password need not sit in the env."""
    if config.get(name):
        return config[name]
    path = _setting(config, f"{name}_FILE")
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise DeliveryInputError(f"{name}_FILE", f"cannot read the file ({exc.strerror})") from None


def transport_from_config(config: Mapping[str, str]) -> MailTransport:
    """Build the configured transport (see the table in this module's docstring).

    Raises :class:`DeliveryInputError` naming the variable at fault; values are never echoed, since
    some are secrets.
    """
    host = _setting(config, "EDC_SMTP_HOST")
    if host is None:
        outbox = _setting(config, "EDC_OUTBOX_DIR")
        if outbox is None:
            outbox = str(Path(_setting(config, "EDC_DATA_DIR") or "var") / "outbox")
        sender = _setting(config, "EDC_MAIL_FROM") or OUTBOX_SENDER
        mailbox(sender, "EDC_MAIL_FROM")
        return OutboxTransport(outbox, sender=sender)

    security = (_setting(config, "EDC_SMTP_SECURITY") or "starttls").lower()
    if security not in SECURITY_MODES:
        raise DeliveryInputError("EDC_SMTP_SECURITY", f"must be one of {', '.join(SECURITY_MODES)}")
    port = _int_setting(config, "EDC_SMTP_PORT", DEFAULT_PORTS[security])
    if not 0 < port < 65536:
        raise DeliveryInputError("EDC_SMTP_PORT", "must be between 1 and 65535")
    timeout = _int_setting(config, "EDC_SMTP_TIMEOUT", 30)
    if timeout <= 0:
        raise DeliveryInputError("EDC_SMTP_TIMEOUT", "must be a positive number of seconds")
    username = _setting(config, "EDC_SMTP_USERNAME")
    password = _secret(config, "EDC_SMTP_PASSWORD")
    if (username is None) != (password is None):
        raise DeliveryInputError("EDC_SMTP_USERNAME", "set EDC_SMTP_USERNAME and EDC_SMTP_PASSWORD together")
    if password is not None and security == "none" and not _is_loopback(host):
        raise DeliveryInputError("EDC_SMTP_SECURITY", "'none' would send the SMTP password unencrypted")
    sender = _setting(config, "EDC_MAIL_FROM")
    if sender is None:
        raise DeliveryInputError("EDC_MAIL_FROM", "required when EDC_SMTP_HOST is set")
    mailbox(sender, "EDC_MAIL_FROM")
    return SmtpTransport(host, port, security, username, password, timeout, sender=sender)  # type: ignore[arg-type]


def _int_setting(config: Mapping[str, str], name: str, default: int) -> int:
    raw = _setting(config, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DeliveryInputError(name, "must be an integer") from None
