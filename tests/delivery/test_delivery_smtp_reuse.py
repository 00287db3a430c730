"""SmtpTransport keeps one connection per thread between messages: reuse, limits, reconnects, no duplicates."""
from __future__ import annotations

import logging
import threading
from email.message import EmailMessage
from typing import Any

import pytest

from bridge.delivery import email as email_module
from bridge.delivery.email import OutboxTransport, SmtpTransport
from bridge.delivery.errors import (
    DeliveryInputError,
    OutcomeUnknown,
    PermanentDeliveryError,
)
from bridge.delivery.message import build_credential_message

from .conftest import SMTP_PASSWORD, SMTP_USER, make_sealed

SENDER = "EDC Bridge <edc@univ.example>"


def message(summary: dict[str, Any], i: int, sealed: bytes | None = None) -> EmailMessage:
    return build_credential_message(
        to_email=f"learner{i}@example.org", learner_name=f"Learner {i}", lang="en", summary=summary,
        sealed_bytes=sealed if sealed is not None else make_sealed(f"urn:credential:{i}"),
        filename=f"credential-{i}", sender=SENDER,
    )


def plain(server, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, security="none", sender=SENDER, **kwargs)


def arrived(server) -> list[str]:
    """Message-IDs in arrival order."""
    return [r.parsed()["Message-ID"] for r in server.handler.received]


def test_many_messages_share_one_connection_and_arrive_intact(smtp_server, summary):
    transport = plain(smtp_server)
    sealed = [make_sealed(f"urn:credential:{i}") for i in range(6)]
    ids = [transport.send(message(summary, i, sealed[i])) for i in range(6)]

    assert smtp_server.handler.connections == 1
    assert arrived(smtp_server) == ids
    for i, received in enumerate(smtp_server.handler.received):
        assert received.rcpt_tos == [f"learner{i}@example.org"]
        [attachment] = list(received.parsed().iter_attachments())
        assert attachment.get_content() == sealed[i]
    assert smtp_server.handler.quits == 0
    transport.close()
    assert smtp_server.handler.quits == 1


def test_reuse_over_starttls_with_auth(smtp_server_factory, tls_files, summary):
    server = smtp_server_factory(auth=True, tls_context=tls_files.server_context())
    transport = SmtpTransport(server.host, server.port, "starttls", SMTP_USER, SMTP_PASSWORD,
                              sender=SENDER, ssl_context=tls_files.client_context())
    for i in range(3):
        transport.send(message(summary, i))
    transport.close()
    assert server.handler.connections == 1
    assert all(r.tls and r.authenticated for r in server.handler.received)
    assert len(server.handler.received) == 3


@pytest.mark.parametrize(("how", "idle_check"), [
    ("hang up", 5.0),  # noticed when MAIL fails on the dead connection: retried once
    ("hang up", 0.0),  # noticed by the NOOP probe before reuse
    ("421", 5.0),      # the server answers MAIL with 421 and closes
])
def test_server_dropping_the_connection_between_messages(smtp_server, summary, caplog, how, idle_check):
    caplog.set_level(logging.INFO, logger="bridge")
    transport = plain(smtp_server, idle_check=idle_check)
    if how == "hang up":
        smtp_server.handler.hang_up_after_data = True
    first = transport.send(message(summary, 1))
    smtp_server.handler.hang_up_after_data = False
    if how == "421":
        smtp_server.handler.mail_answers.append("421 4.3.2 shutting down")

    second = transport.send(message(summary, 2))

    assert arrived(smtp_server) == [first, second]  # each exactly once
    retried = "retrying on a new one" in caplog.text
    assert retried == (idle_check > 0)  # the NOOP probe found the dead connection before MAIL did
    assert smtp_server.handler.connections == 2
    third = transport.send(message(summary, 3))  # and the new connection is kept
    assert smtp_server.handler.connections == 2
    assert arrived(smtp_server) == [first, second, third]
    assert "learner2@example.org" not in caplog.text
    transport.close()


def test_connection_lost_after_data_is_not_retried(smtp_server, summary):
    """The server kept the message but its reply never came: a retry could duplicate it, so none here;
    the outcome is reported as unknown (the pipeline retries later with the same Message-ID)."""
    transport = plain(smtp_server)
    first = transport.send(message(summary, 1))
    smtp_server.handler.hang_up_before_data_reply = True
    with pytest.raises(OutcomeUnknown, match="lost after the message was sent"):
        transport.send(message(summary, 2))
    assert len(smtp_server.handler.received) == 2 and arrived(smtp_server)[0] == first
    assert smtp_server.handler.connections == 1


def test_keepalive_zero_opens_one_connection_per_message(smtp_server, summary):
    transport = plain(smtp_server, keepalive=0)
    ids = [transport.send(message(summary, i)) for i in range(3)]
    assert arrived(smtp_server) == ids
    assert smtp_server.handler.connections == 3
    assert smtp_server.handler.quits == 3


def test_max_per_connection(smtp_server, summary):
    transport = plain(smtp_server, max_per_connection=3)
    ids = [transport.send(message(summary, i)) for i in range(7)]
    assert arrived(smtp_server) == ids
    assert smtp_server.handler.connections == 3  # 3 + 3 + 1
    assert smtp_server.handler.quits == 2  # the full ones said goodbye at once
    peers = [r.peer for r in smtp_server.handler.received]
    assert len({*peers[:3]}) == len({*peers[3:6]}) == 1
    transport.close()
    assert smtp_server.handler.quits == 3


def test_idle_connection_is_replaced_after_keepalive(smtp_server, summary, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(email_module, "_now", lambda: clock[0])
    transport = plain(smtp_server, keepalive=30, idle_check=60)
    transport.send(message(summary, 1))
    clock[0] += 29
    transport.send(message(summary, 2))
    assert smtp_server.handler.connections == 1
    clock[0] += 31
    transport.send(message(summary, 3))
    assert smtp_server.handler.connections == 2
    assert smtp_server.handler.quits == 1  # the idle one was closed politely
    assert len(smtp_server.handler.received) == 3
    transport.close()


def test_two_threads_use_their_own_connections(smtp_server, summary):
    transport = plain(smtp_server)
    per_thread = 5
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        try:
            start.wait(timeout=10)
            for i in range(offset, offset + per_thread):
                transport.send(message(summary, i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in (0, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors

    received = smtp_server.handler.received
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(
        f"learner{i}@example.org" for i in [*range(per_thread), *range(100, 100 + per_thread)])
    assert smtp_server.handler.connections == 2
    peers_a = {r.peer for r in received if int(r.rcpt_tos[0][7:].split("@")[0]) < 100}
    peers_b = {r.peer for r in received if int(r.rcpt_tos[0][7:].split("@")[0]) >= 100}
    assert len(peers_a) == len(peers_b) == 1 and peers_a != peers_b  # both stay open until close()
    transport.close()
    assert smtp_server.handler.quits == 2


def test_550_on_a_reused_connection_is_permanent_and_not_retried(smtp_server, summary):
    transport = plain(smtp_server)
    transport.send(message(summary, 1))
    smtp_server.handler.answers["learner2@example.org"] = "550 5.1.1 mailbox unavailable"
    with pytest.raises(PermanentDeliveryError) as info:
        transport.send(message(summary, 2))
    assert info.value.code == 550
    assert smtp_server.handler.rcpt_calls == 2  # asked once, not again on a new connection
    assert smtp_server.handler.connections == 1
    transport.send(message(summary, 3))  # the next message still goes
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["learner1@example.org"],
                                                                    ["learner3@example.org"]]
    transport.close()


def test_close_then_send_reconnects(smtp_server, summary):
    transport = plain(smtp_server)
    transport.send(message(summary, 1))
    transport.close()
    transport.close()  # idempotent
    transport.send(message(summary, 2))
    assert smtp_server.handler.connections == 2 and len(smtp_server.handler.received) == 2
    transport.close()


def test_forked_child_does_not_touch_the_parents_connection(smtp_server, summary):
    transport = plain(smtp_server)
    transport.send(message(summary, 1))
    email_module._forget_inherited_connections()  # what os.register_at_fork runs in a child
    transport.send(message(summary, 2))
    assert smtp_server.handler.connections == 2
    assert smtp_server.handler.quits == 0  # the "parent's" session got no QUIT from the "child"
    transport.close()


def test_outbox_close_is_a_no_op(tmp_path):
    OutboxTransport(tmp_path).close()


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"keepalive": -1}, "keepalive"),
    ({"max_per_connection": 0}, "max_per_connection"),
    ({"idle_check": -0.5}, "idle_check"),
])
def test_bad_reuse_settings_name_the_field(kwargs, field):
    with pytest.raises(DeliveryInputError) as info:
        SmtpTransport("127.0.0.1", 25, security="none", sender=SENDER, **kwargs)
    assert info.value.field == field
