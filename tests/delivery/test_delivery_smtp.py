"""SmtpTransport against a real aiosmtpd server on loopback: delivery, TLS, AUTH, failure classes."""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from typing import Any

import pytest

from bridge.delivery.email import SmtpTransport
from bridge.delivery.errors import DeliveryInputError, PermanentDeliveryError, TransientDeliveryError
from bridge.delivery.message import build_credential_message

from .conftest import SMTP_PASSWORD, SMTP_USER

SENDER = "EDC Bridge <edc@univ.example>"
LEARNER = "camille@example.org"


def our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """What the bridge logged (aiosmtpd's own debug log of the test server is not ours to judge)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bridge"))


def message(summary: dict[str, Any], sealed: bytes, lang: str = "en", name: str = "Camille"):
    return build_credential_message(
        to_email=LEARNER, learner_name=name, lang=lang, summary=summary, sealed_bytes=sealed,
        filename="credential-7", sender=SENDER,
    )


@pytest.mark.parametrize(("lang", "subject"), [
    ("en", "Your credential: Data Analysis with Python"),
    ("fr", "Votre justificatif : Analyse de données avec Python"),
])
def test_delivers_and_the_server_receives_an_identical_credential(
    smtp_server, summary, sealed_bytes, lang, subject
):
    msg = message(summary, sealed_bytes, lang=lang, name="Zoë <Martin> & Co")
    transport = SmtpTransport(smtp_server.host, smtp_server.port, security="none", sender=SENDER)
    msgid = transport.send(msg)

    [received] = smtp_server.handler.received
    assert received.mail_from == "edc@univ.example"
    assert received.rcpt_tos == [LEARNER]
    parsed = received.parsed()
    assert parsed["Message-ID"] == msgid
    assert parsed["Subject"] == subject
    assert parsed["Content-Language"] == lang
    html = parsed.get_body(("html",)).get_content()
    assert "Zoë &lt;Martin&gt; &amp; Co" in html and "<Martin>" not in html
    assert "Zoë <Martin> & Co" in parsed.get_body(("plain",)).get_content()
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "application/ld+json"
    assert attachment.get_filename() == "credential-7.jsonld"
    assert attachment.get_content() == sealed_bytes


def test_starttls_with_a_trusted_self_signed_certificate(
    smtp_server_factory, tls_files, summary, sealed_bytes
):
    server = smtp_server_factory(tls_context=tls_files.server_context(), require_starttls=True)
    transport = SmtpTransport(server.host, server.port, security="starttls", sender=SENDER,
                              ssl_context=tls_files.client_context())
    transport.send(message(summary, sealed_bytes))
    [received] = server.handler.received
    assert received.tls
    assert list(received.parsed().iter_attachments())[0].get_content() == sealed_bytes


def test_implicit_tls(smtp_server_factory, tls_files, summary, sealed_bytes):
    server = smtp_server_factory(ssl_context=tls_files.server_context())
    transport = SmtpTransport(server.host, server.port, security="ssl", sender=SENDER,
                              ssl_context=tls_files.client_context())
    transport.send(message(summary, sealed_bytes))
    assert len(server.handler.received) == 1


def test_untrusted_certificate_is_permanent(smtp_server_factory, tls_files, summary, sealed_bytes):
    server = smtp_server_factory(tls_context=tls_files.server_context(), require_starttls=True)
    transport = SmtpTransport(server.host, server.port, security="starttls", sender=SENDER,
                              ssl_context=ssl.create_default_context(cafile=None, capath="/nonexistent"))
    with pytest.raises(PermanentDeliveryError, match="certificate is not trusted"):
        transport.send(message(summary, sealed_bytes))
    assert server.handler.received == []


def test_starttls_refused_when_server_lacks_it(smtp_server, summary, sealed_bytes):
    transport = SmtpTransport(smtp_server.host, smtp_server.port, security="starttls", sender=SENDER)
    with pytest.raises(PermanentDeliveryError, match="STARTTLS"):
        transport.send(message(summary, sealed_bytes))


def test_auth_over_starttls(smtp_server_factory, tls_files, summary, sealed_bytes):
    server = smtp_server_factory(auth=True, tls_context=tls_files.server_context())
    transport = SmtpTransport(server.host, server.port, "starttls", SMTP_USER, SMTP_PASSWORD,
                              sender=SENDER, ssl_context=tls_files.client_context())
    transport.send(message(summary, sealed_bytes))
    [received] = server.handler.received
    assert received.authenticated and received.tls


def test_wrong_password_is_permanent_and_never_shown(
    smtp_server_factory, tls_files, summary, sealed_bytes, caplog
):
    server = smtp_server_factory(auth=True, tls_context=tls_files.server_context())
    wrong = "wrong-" + SMTP_PASSWORD
    transport = SmtpTransport(server.host, server.port, "starttls", SMTP_USER, wrong,
                              sender=SENDER, ssl_context=tls_files.client_context())
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentDeliveryError) as info:
        transport.send(message(summary, sealed_bytes))
    assert info.value.code == 535
    assert "authentication failed" in str(info.value)
    for text in (str(info.value), repr(transport), our_logs(caplog)):
        assert wrong not in text
        assert LEARNER not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert server.handler.received == []


def test_unauthenticated_sender_refused_when_auth_required(
    smtp_server_factory, tls_files, summary, sealed_bytes
):
    server = smtp_server_factory(auth=True, tls_context=tls_files.server_context())
    transport = SmtpTransport(server.host, server.port, "starttls", sender=SENDER,
                              ssl_context=tls_files.client_context())
    with pytest.raises(PermanentDeliveryError) as info:
        transport.send(message(summary, sealed_bytes))
    assert info.value.code == 530


def test_550_recipient_refused_is_permanent_without_the_address(smtp_server, summary, sealed_bytes, caplog):
    smtp_server.handler.answers[LEARNER] = f"550 5.1.1 <{LEARNER}>: mailbox unavailable"
    transport = SmtpTransport(smtp_server.host, smtp_server.port, security="none", sender=SENDER)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PermanentDeliveryError) as info:
        transport.send(message(summary, sealed_bytes))
    assert info.value.code == 550
    assert "mailbox unavailable" in str(info.value)
    assert "<address>" in our_logs(caplog)
    assert LEARNER not in str(info.value) and LEARNER not in our_logs(caplog)


def test_451_is_transient(smtp_server, summary, sealed_bytes):
    smtp_server.handler.answers[LEARNER] = "451 4.3.0 greylisted, try again later"
    transport = SmtpTransport(smtp_server.host, smtp_server.port, security="none", sender=SENDER)
    with pytest.raises(TransientDeliveryError) as info:
        transport.send(message(summary, sealed_bytes))
    assert info.value.code == 451


def test_message_refused_at_data_is_permanent(smtp_server, summary, sealed_bytes):
    smtp_server.handler.data_answer = "554 5.7.1 message rejected as spam"
    transport = SmtpTransport(smtp_server.host, smtp_server.port, security="none", sender=SENDER)
    with pytest.raises(PermanentDeliveryError, match="spam") as info:
        transport.send(message(summary, sealed_bytes))
    assert info.value.code == 554


def test_server_down_is_transient(closed_port, summary, sealed_bytes):
    transport = SmtpTransport("127.0.0.1", closed_port, security="none", sender=SENDER, timeout=5)
    with pytest.raises(TransientDeliveryError, match="cannot reach the mail server"):
        transport.send(message(summary, sealed_bytes))


def test_silent_server_times_out_as_transient(silent_server, summary, sealed_bytes):
    transport = SmtpTransport("127.0.0.1", silent_server, security="none", sender=SENDER, timeout=0.5)
    with pytest.raises(TransientDeliveryError, match="did not answer in time"):
        transport.send(message(summary, sealed_bytes))


class _TricklingServer:
    """Greets, then answers every command one byte every 50 ms, never finishing the line: each read
    succeeds within any socket timeout, so only the message's deadline can end the wait."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(b"220 slow.example ESMTP\r\n")
            conn.recv(1024)
            conn.sendall(b"250-")
            while not self.stop.wait(0.05):
                try:
                    conn.sendall(b"x")
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_trickling_server_is_cut_at_the_message_deadline(summary, sealed_bytes):
    server = _TricklingServer()
    transport = SmtpTransport("127.0.0.1", server.port, security="none", sender=SENDER, timeout=0.25,
                              connect_timeout=0.25, data_timeout=0.5)
    assert transport.budget == 0.25 + 8 * 0.25 + 0.5
    started = time.monotonic()
    try:
        with pytest.raises(TransientDeliveryError, match="did not finish within 2.75 s"):
            transport.send(message(summary, sealed_bytes))
    finally:
        server.close()
    assert time.monotonic() - started < 60  # cut, not left hanging on a server that never ends its answer


def test_connect_command_and_data_timeouts_are_separate(smtp_server, summary, sealed_bytes):
    transport = SmtpTransport("127.0.0.1", smtp_server.port, security="none", sender=SENDER, timeout=3,
                              connect_timeout=2, data_timeout=7, keepalive=30)
    transport.send(message(summary, sealed_bytes))
    conn = transport._local.conn  # the kept connection: its socket waits for commands for 3 s
    assert conn.smtp.sock.gettimeout() == 3 and conn.smtp.data_timeout == 7
    transport.close()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"host": ""}, "host"),
    ({"connect_timeout": 0}, "connect_timeout"),
    ({"data_timeout": -1}, "data_timeout"),
    ({"security": "tls"}, "security"),
    ({"port": 70000}, "port"),
    ({"username": "u"}, "username"),
    ({"username": "u", "password": "p", "host": "mail.example.org", "security": "none"}, "security"),
    ({"timeout": 0}, "timeout"),
    ({"sender": "not an address"}, "sender"),
])
def test_bad_settings_name_the_field(kwargs, field):
    args = {"host": "127.0.0.1", "port": 25, "security": "none", "sender": SENDER, **kwargs}
    with pytest.raises(DeliveryInputError) as info:
        SmtpTransport(**args)
    assert info.value.field == field


def test_international_addresses(smtp_server_factory, summary, sealed_bytes):
    """IDN domains travel as IDNA; a non-ASCII local part needs a server offering SMTPUTF8."""
    server = smtp_server_factory(enable_SMTPUTF8=True)
    transport = SmtpTransport(server.host, server.port, security="none", sender=SENDER)
    for address in ("camille@exämple.org", "josé@example.org"):
        transport.send(build_credential_message(
            to_email=address, learner_name="José", lang="fr", summary=summary, sealed_bytes=sealed_bytes,
            filename="c", sender=SENDER))
    assert [r.rcpt_tos for r in server.handler.received] == [["camille@xn--exmple-cua.org"], ["josé@example.org"]]
    assert "To: José <josé@example.org>".encode() in server.handler.received[1].raw  # RFC 6532 raw UTF-8

    plain = smtp_server_factory(enable_SMTPUTF8=False)
    transport = SmtpTransport(plain.host, plain.port, security="none", sender=SENDER)
    with pytest.raises(PermanentDeliveryError, match="SMTPUTF8"):
        transport.send(build_credential_message(
            to_email="josé@example.org", learner_name="José", lang="fr", summary=summary,
            sealed_bytes=sealed_bytes, filename="c", sender=SENDER))
