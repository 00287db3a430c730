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
| `EDC_SMTP_CONNECT_TIMEOUT` | `EDC_SMTP_TIMEOUT` | Seconds to open the connection and get the server's greeting. |
| `EDC_SMTP_TIMEOUT` | `30` | Seconds to wait for the answer to each SMTP command (EHLO, STARTTLS, AUTH, MAIL, RCPT, NOOP). |
| `EDC_SMTP_DATA_TIMEOUT` | `120` | Seconds for the message itself: from DATA to the server's answer after the final ".". |
| `EDC_SMTP_KEEPALIVE` | `30` | Seconds an idle SMTP connection stays open for the next message of the same worker thread; `0` opens one connection per message. |
| `EDC_SMTP_MAX_PER_CONNECTION` | `100` | Messages sent over one SMTP connection before it is closed and a new one opened. |
| `EDC_SMTP_IDLE_CHECK` | `5` | A kept connection idle longer than this many seconds is probed with `NOOP` before reuse; `0` probes before every reuse. |
| `EDC_MAIL_FROM` | required with SMTP; `EDC Bridge <no-reply@edc-bridge.localhost>` for the outbox | `From:` of credential e-mails, `Name <address>` or a bare address. |
| `EDC_OUTBOX_DIR` | `$EDC_DATA_DIR/outbox`, else `./var/outbox` | Folder receiving one `.eml` file per message when no SMTP host is set. |

Every message also has a hard deadline, :func:`message_budget`: connect timeout + 8 × command
timeout + DATA timeout (390 s by default). Past it the connection is cut and the attempt counts as
transient, or as an unknown outcome once the message was sent. The delivery lease
(``EDC_DELIVERY_LEASE``) must be at least 1.5 times this budget, so a message never outlives the
claim it was sent under; the settings are checked together at start-up (``bridge.config``).
"""  # noqa: E501  (a Markdown table meant to be copied into the README)
from __future__ import annotations

import atexit
import hashlib
import ipaddress
import logging
import math
import os
import smtplib
import socket
import ssl
import tempfile
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import make_msgid
from pathlib import Path
from typing import Literal

from bridge.delivery.addresses import mailbox
from bridge.delivery.errors import (
    DeliveryError,
    DeliveryInputError,
    OutcomeUnknown,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)
from bridge.delivery.mime import OutgoingMessage

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
SECURITY_MODES: tuple[str, ...] = ("starttls", "ssl", "none")
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}
OUTBOX_SENDER = "EDC Bridge <no-reply@edc-bridge.localhost>"


class MailTransport(ABC):
    """Something that takes a finished message and hands it on; ``sender`` is the configured From.

    Messages are :class:`~bridge.delivery.mime.OutgoingMessage` (envelope + wire bytes, as built by
    ``build_credential_message``): transports send or write their bytes as they are.
    """

    sender: str

    @abstractmethod
    def send(self, msg: OutgoingMessage) -> str:
        """Deliver ``msg`` and return its Message-ID, or raise a Permanent/TransientDeliveryError."""

    def close(self) -> None:  # noqa: B027 (deliberately not abstract: most transports hold nothing)
        """Release what the transport keeps open between messages (nothing, by default)."""


def message_id(msg: OutgoingMessage, sender: str) -> str:
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


COMMANDS_PER_MESSAGE = 8
"""Command answers one message may wait for in the worst case (NOOP probe or QUIT, EHLO, STARTTLS,
EHLO, AUTH, MAIL, RCPT, DATA): the part of :func:`message_budget` that is ``EDC_SMTP_TIMEOUT``'s."""


def message_budget(connect_timeout: float, command_timeout: float, data_timeout: float) -> float:
    """The hard deadline of one message, in seconds: connect + commands + DATA."""
    return connect_timeout + COMMANDS_PER_MESSAGE * command_timeout + data_timeout


class _MarksData:
    """Mixin for smtplib's classes: remembers how far the current message got.

    ``sendmail`` calls ``self.data()`` only after MAIL and every RCPT were answered; before that
    point the server holds no copy of the message, so a failure there can be retried safely.
    ``payload_sent`` turns true as the message and its final "." are handed to the socket: from then
    on, a connection lost before the answer leaves the outcome unknown. DATA runs under its own
    (longer) socket timeout, ``data_timeout``.
    """

    data_started = False
    payload_sent = False
    data_timeout: float | None = None

    def data(self, msg):  # type: ignore[no-untyped-def]
        self.data_started = True
        sock = getattr(self, "sock", None)
        if sock is not None and self.data_timeout is not None:
            sock.settimeout(self.data_timeout)
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            sock = getattr(self, "sock", None)
            if sock is not None:
                sock.settimeout(self.timeout)  # type: ignore[attr-defined]

    def send(self, s):  # type: ignore[no-untyped-def]
        if self.data_started and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.payload_sent = True  # before sending: a failure half-way may still have delivered it
        return super().send(s)  # type: ignore[misc]


class _SMTP(_MarksData, smtplib.SMTP):
    pass


class _SMTPSSL(_MarksData, smtplib.SMTP_SSL):
    pass


_now = time.monotonic  # a module attribute so tests can move the clock without sleeping


class _Deadline:
    """The hard deadline of one message: when it passes, the socket in use is shut down.

    Socket timeouts bound each wait, but not a server that trickles one byte at a time, nor the sum
    of the waits; this does. The blocked read then fails at once, and ``fired`` says why.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = False
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._timer.cancel()

    def watch(self, smtp: smtplib.SMTP | None) -> None:
        """Shut ``smtp``'s socket when the deadline passes (at once if it has passed already)."""
        with self._lock:
            self._smtp = smtp
            if self.fired and smtp is not None:
                _shutdown(smtp)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            if self._smtp is not None:
                _shutdown(self._smtp)


def _shutdown(smtp: smtplib.SMTP) -> None:
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Unanswered(Exception):
    """The message was handed over but its answer never came (see :class:`OutcomeUnknown`)."""


class _Connection:
    """One open SMTP session, owned by one thread; ``lock`` is held while a message goes through it."""

    __slots__ = ("smtp", "owner", "lock", "last_used", "sent", "closed")

    def __init__(self, smtp: _SMTP | _SMTPSSL) -> None:
        self.smtp = smtp
        self.owner = threading.current_thread()
        self.lock = threading.Lock()
        self.last_used = _now()
        self.sent = 0
        self.closed = False


def _quit(smtp: smtplib.SMTP) -> None:
    """Say QUIT if the server still listens, and close the socket in any case."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        smtp.close()


def _stale_connection(exc: BaseException, smtp: _SMTP | _SMTPSSL) -> bool:
    """Did a reused connection fail because it is dead, before the message reached DATA?

    Only such failures are retried. Replies about the message or its recipients (4xx/5xx other
    than 421) and timeouts (a hung server, not a dropped one) are not.
    """
    if smtp.data_started:
        return False
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return not isinstance(exc.__context__, TimeoutError)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # smtplib stops at the first 421 RCPT reply
        return any(answer[0] == 421 for answer in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421
    if isinstance(exc, TimeoutError):
        return False
    return isinstance(exc, OSError)  # reset, broken pipe, TLS EOF on the established session


class SmtpTransport(MailTransport):
    """Submit mail to an SMTP server, keeping one connection per worker thread open between messages.

    A worker sends many messages in a row, and connect + EHLO + STARTTLS + AUTH + QUIT costs more
    than the message itself, so each thread keeps its own connection (never shared between threads)
    for the next message, for at most ``keepalive`` idle seconds and ``max_per_connection``
    messages; ``keepalive=0`` restores one connection per message. A connection idle for more than
    ``idle_check`` seconds is probed with NOOP before reuse, and one that turns out dead anyway is
    replaced and the message tried once more on the new connection.

    Why that retry never sends a message twice: smtplib does not pipeline, so each command waits for
    its reply and DATA is issued only after MAIL and every RCPT were accepted. The retry happens
    only when the reused connection failed (disconnect, socket error, 421) *before* DATA was issued
    (tracked by :class:`_MarksData`), i.e. before the server could hold any copy of the message.
    Once DATA is issued nothing is retried here: a connection lost after the final "." but before
    the server's reply leaves it unknown whether the message was accepted (RFC 1047), so that case
    is reported as a transient failure like on a fresh connection, exactly as before.

    :meth:`close` sends QUIT on every kept connection; it also runs at interpreter exit.
    """

    def __init__(
        self,
        host: str,
        port: int | None = None,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        *,
        connect_timeout: float | None = None,
        data_timeout: float = 120.0,
        sender: str = OUTBOX_SENDER,
        ssl_context: ssl.SSLContext | None = None,
        keepalive: float = 30.0,
        max_per_connection: int = 100,
        idle_check: float = 5.0,
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
        connect_timeout = timeout if connect_timeout is None else connect_timeout
        if connect_timeout <= 0:
            raise DeliveryInputError("connect_timeout", "must be positive")
        if data_timeout <= 0:
            raise DeliveryInputError("data_timeout", "must be positive")
        if keepalive < 0:
            raise DeliveryInputError("keepalive", "must be zero (no reuse) or a positive number of seconds")
        if max_per_connection < 1:
            raise DeliveryInputError("max_per_connection", "must be at least 1")
        if idle_check < 0:
            raise DeliveryInputError("idle_check", "must be zero or a positive number of seconds")
        mailbox(sender, "sender")
        self.host = host
        self.port = port
        self.security: Security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.data_timeout = data_timeout
        self.sender = sender
        self._ssl_context = ssl_context or ssl.create_default_context()
        self.keepalive = keepalive
        self.max_per_connection = max_per_connection
        self.idle_check = idle_check
        self._reset_connections()
        if keepalive > 0:
            with _TRANSPORTS_LOCK:
                _TRANSPORTS.add(self)

    def _reset_connections(self) -> None:
        self._local = threading.local()  # .conn: this thread's kept connection
        self._live: set[_Connection] = set()  # every thread's, so close() reaches them all
        self._live_lock = threading.Lock()

    def __repr__(self) -> str:
        auth = f", username={self.username!r}, password='***'" if self.username else ""
        return f"SmtpTransport({self.host!r}, {self.port}, security={self.security!r}{auth})"

    @property
    def budget(self) -> float:
        """The hard deadline of one message (see :func:`message_budget`)."""
        return message_budget(self.connect_timeout, self.timeout, self.data_timeout)

    def _open(self) -> _SMTP | _SMTPSSL:
        """Connect and read the greeting within the connect timeout; later waits get the command timeout."""
        smtp: _SMTP | _SMTPSSL
        if self.security == "ssl":
            smtp = _SMTPSSL(self.host, self.port, timeout=self.connect_timeout, context=self._ssl_context)
        else:
            smtp = _SMTP(self.host, self.port, timeout=self.connect_timeout)
        smtp.timeout = self.timeout  # used by starttls() for the wrapped socket too
        smtp.data_timeout = self.data_timeout
        if smtp.sock is not None:
            smtp.sock.settimeout(self.timeout)
        return smtp

    def _connect(self) -> _SMTP | _SMTPSSL:
        """A new session, upgraded to TLS and authenticated as configured."""
        smtp = self._open()
        try:
            if self.security == "starttls":
                smtp.ehlo()
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if self.username is not None and self._password is not None:
                smtp.login(self.username, self._password)
        except BaseException:
            _quit(smtp)
            raise
        log.debug("opened an SMTP connection to %s:%d", self.host, self.port)
        return smtp

    def _checkout(self) -> tuple[_Connection, bool]:
        """This thread's connection, locked, and whether it was reused (``False``: opened just now)."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.lock.acquire()
            idle = _now() - conn.last_used
            if conn.closed:
                pass
            elif idle > self.keepalive:
                self._retire(conn, polite=True)
            elif idle >= self.idle_check and not self._answers_noop(conn):
                self._retire(conn, polite=False)
            else:
                return conn, True
            conn.lock.release()
            self._local.conn = None
        conn = _Connection(self._connect())
        conn.lock.acquire()
        if self.keepalive > 0:
            self._local.conn = conn
            with self._live_lock:
                self._live.add(conn)
                orphans = [c for c in self._live if not c.owner.is_alive()]
            self._close_connections(orphans)  # of threads that ended (a shrinking pool, say)
        return conn, False

    @staticmethod
    def _answers_noop(conn: _Connection) -> bool:
        try:
            return conn.smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def _retire(self, conn: _Connection, *, polite: bool) -> None:
        """Close ``conn`` (QUIT first when ``polite``); the caller holds its lock."""
        conn.closed = True
        with self._live_lock:
            self._live.discard(conn)
        if polite:
            _quit(conn.smtp)
        else:
            conn.smtp.close()

    def _transact(self, conn: _Connection, msg: OutgoingMessage, data: bytes) -> dict[str, tuple[int, bytes]]:
        """Send ``data`` (``msg``'s bytes) over ``conn`` (locked by :meth:`_checkout`); always unlocks it.

        ``sendmail`` sends the bytes as they are (no re-serialising); with SMTPUTF8 it raises
        SMTPNotSupportedError before MAIL when the server does not offer it, as ``send_message`` did.
        """
        try:
            conn.smtp.data_started = conn.smtp.payload_sent = False
            try:
                refused = conn.smtp.sendmail(msg.mail_from, list(msg.recipients), data, msg.mail_options)
            except BaseException:
                self._retire(conn, polite=False)  # its state is unknown: never reuse it
                raise
            conn.sent += 1
            conn.last_used = _now()
            if self.keepalive <= 0 or conn.sent >= self.max_per_connection:
                self._retire(conn, polite=True)
            return refused
        finally:
            conn.lock.release()

    def _deliver(self, msg: OutgoingMessage, msgid: str, deadline: _Deadline) -> dict[str, tuple[int, bytes]]:
        data = msg.as_bytes()
        conn, reused = self._checkout()
        try:
            return self._attempt(conn, msg, data, deadline)
        except Exception as exc:
            if not (reused and _stale_connection(exc, conn.smtp)) or deadline.fired:
                raise
            log.info("reused SMTP connection to %s:%d was lost before sending %s (%s); retrying on a new one",
                     self.host, self.port, msgid, type(exc).__name__)
        conn, _ = self._checkout()  # the dead one was retired: this is a new connection
        return self._attempt(conn, msg, data, deadline)

    def _attempt(self, conn: _Connection, msg: OutgoingMessage, data: bytes,
                 deadline: _Deadline) -> dict[str, tuple[int, bytes]]:
        """:meth:`_transact` under the message's deadline; a lost answer to a sent message is :class:`_Unanswered`."""
        deadline.watch(conn.smtp)
        try:
            return self._transact(conn, msg, data)
        except Exception as exc:
            # A reply (even 4xx/5xx) is an answer; anything else after the final "." leaves it unknown.
            if conn.smtp.payload_sent and not isinstance(exc, smtplib.SMTPResponseException):
                raise _Unanswered(type(exc).__name__) from exc
            raise
        finally:
            deadline.watch(None)

    def send(self, msg: OutgoingMessage) -> str:
        msgid = message_id(msg, self.sender)
        deadline = _Deadline(self.budget)
        try:
            with deadline:
                refused = self._deliver(msg, msgid, deadline)
        except DeliveryError:
            raise
        except _Unanswered:
            log.warning("SMTP delivery of %s: the message was sent but the server's answer was lost; "
                        "it will be retried with the same Message-ID", msgid)
            raise OutcomeUnknown("the connection to the mail server was lost after the message was sent; "
                                 "whether it was accepted is unknown") from None
        except Exception as exc:
            error = classify_smtp_error(exc)
            if deadline.fired:
                error = TransientDeliveryError(f"the mail server did not finish within {self.budget:g} s")
            log.warning("SMTP delivery of %s failed: %s", msgid, error.message)
            raise error from None  # the original may quote the recipient's address
        if refused:
            # Only possible with several recipients: the others already got it, so a retry would duplicate.
            log.warning("SMTP server refused %d of the recipients of %s", len(refused), msgid)
        log.info("sent %s via %s:%d", msgid, self.host, self.port)
        return msgid

    def close(self) -> None:
        """QUIT every connection this transport keeps open, in all threads; later sends reconnect.

        A connection busy with a message in another thread is waited for up to ``timeout`` seconds
        and left open if still busy.
        """
        with self._live_lock:
            conns = list(self._live)
        self._close_connections(conns, wait=self.timeout)

    def _close_connections(self, conns: list[_Connection], wait: float = 0) -> None:
        for conn in conns:
            if not conn.lock.acquire(timeout=wait):  # busy sending: leave it be
                continue
            try:
                if not conn.closed:
                    self._retire(conn, polite=True)
            finally:
                conn.lock.release()


_TRANSPORTS: weakref.WeakSet[SmtpTransport] = weakref.WeakSet()  # those that keep connections open
_TRANSPORTS_LOCK = threading.Lock()


@atexit.register
def _close_all_transports() -> None:
    """QUIT kept SMTP connections when the process exits normally (a SIGKILL just drops them)."""
    with _TRANSPORTS_LOCK:
        transports = list(_TRANSPORTS)
    for transport in transports:
        transport.close()


def _forget_inherited_connections() -> None:
    """In a forked child, drop the parent's sessions without a word: they belong to the parent."""
    global _TRANSPORTS_LOCK
    _TRANSPORTS_LOCK = threading.Lock()
    for transport in list(_TRANSPORTS):
        transport._reset_connections()


os.register_at_fork(after_in_child=_forget_inherited_connections)


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

    def send(self, msg: OutgoingMessage) -> str:
        msgid = message_id(msg, self.sender)
        data = msg.as_bytes()  # CRLF line ends already
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
    timeout, connect_timeout, data_timeout = smtp_timeouts(config)
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
    keepalive = _number_setting(config, "EDC_SMTP_KEEPALIVE", 30.0)
    if keepalive < 0:
        raise DeliveryInputError("EDC_SMTP_KEEPALIVE", "must be 0 (no reuse) or a positive number of seconds")
    max_per_connection = _int_setting(config, "EDC_SMTP_MAX_PER_CONNECTION", 100)
    if max_per_connection < 1:
        raise DeliveryInputError("EDC_SMTP_MAX_PER_CONNECTION", "must be at least 1")
    idle_check = _number_setting(config, "EDC_SMTP_IDLE_CHECK", 5.0)
    if idle_check < 0:
        raise DeliveryInputError("EDC_SMTP_IDLE_CHECK", "must be 0 or a positive number of seconds")
    return SmtpTransport(
        host, port, security, username, password, timeout, sender=sender,  # type: ignore[arg-type]
        connect_timeout=connect_timeout, data_timeout=data_timeout, keepalive=keepalive,
        max_per_connection=max_per_connection, idle_check=idle_check,
    )


def smtp_timeouts(config: Mapping[str, str]) -> tuple[float, float, float]:
    """``EDC_SMTP_TIMEOUT`` (commands), ``EDC_SMTP_CONNECT_TIMEOUT`` and ``EDC_SMTP_DATA_TIMEOUT``, checked."""
    values = []
    for name, default in (("EDC_SMTP_TIMEOUT", 30.0), ("EDC_SMTP_CONNECT_TIMEOUT", None),
                          ("EDC_SMTP_DATA_TIMEOUT", 120.0)):
        value = _number_setting(config, name, values[0] if default is None else default)
        if value <= 0:
            raise DeliveryInputError(name, "must be a positive number of seconds")
        values.append(value)
    return values[0], values[1], values[2]


def _int_setting(config: Mapping[str, str], name: str, default: int) -> int:
    raw = _setting(config, name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise DeliveryInputError(name, "must be an integer") from None


def _number_setting(config: Mapping[str, str], name: str, default: float) -> float:
    raw = _setting(config, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise DeliveryInputError(name, "must be a number") from None
    if not math.isfinite(value):
        raise DeliveryInputError(name, "must be a finite number")
    return value
