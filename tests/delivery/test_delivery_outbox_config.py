"""The .eml outbox transport and transport_from_config."""
from __future__ import annotations

import os
import stat
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from bridge.delivery.email import OUTBOX_SENDER, OutboxTransport, SmtpTransport, transport_from_config
from bridge.delivery.errors import DeliveryInputError, TransientDeliveryError
from bridge.delivery.message import build_credential_message


def make_message(summary, sealed, lang="fr"):
    return build_credential_message(
        to_email="camille@example.org", learner_name="Camille « Martin »", lang=lang, summary=summary,
        sealed_bytes=sealed, filename="credential-9", sender="registrar@univ.example",
    )


def test_outbox_writes_one_private_eml_per_message(tmp_path, summary, sealed_bytes):
    outbox = tmp_path / "var" / "outbox"
    transport = OutboxTransport(outbox)
    first = transport.send(make_message(summary, sealed_bytes))
    second = transport.send(make_message(summary, sealed_bytes, lang="en"))
    files = sorted(outbox.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary file left behind
    parsed = [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]
    assert {p["Message-ID"] for p in parsed} == {first, second}
    french = next(p for p in parsed if p["Message-ID"] == first)
    assert french["Subject"] == "Votre justificatif : Analyse de données avec Python"
    assert french["To"].addresses[0].display_name == "Camille « Martin »"
    assert list(french.iter_attachments())[0].get_content() == sealed_bytes
    assert b"\r\n" in files[0].read_bytes()
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600


def test_outbox_adds_a_message_id_when_missing(tmp_path, summary, sealed_bytes):
    msg = make_message(summary, sealed_bytes)
    del msg["Message-ID"]
    msgid = OutboxTransport(tmp_path, sender="EDC <edc@univ.example>").send(msg)
    assert msgid.endswith("@univ.example>")
    assert msg["Message-ID"] == msgid


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_outbox_is_transient_and_leaves_nothing(tmp_path, summary, sealed_bytes):
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    outbox.chmod(0o500)
    try:
        with pytest.raises(TransientDeliveryError, match="cannot write to the outbox"):
            OutboxTransport(outbox).send(make_message(summary, sealed_bytes))
        assert list(outbox.iterdir()) == []
    finally:
        outbox.chmod(0o700)


def test_outbox_path_that_is_a_file_is_transient(tmp_path, summary, sealed_bytes):
    blocker = tmp_path / "outbox"
    blocker.write_text("not a folder")
    with pytest.raises(TransientDeliveryError):
        OutboxTransport(blocker).send(make_message(summary, sealed_bytes))


def test_no_smtp_host_means_outbox(tmp_path):
    transport = transport_from_config({"EDC_DATA_DIR": str(tmp_path)})
    assert isinstance(transport, OutboxTransport)
    assert transport.directory == tmp_path / "outbox"
    assert transport.sender == OUTBOX_SENDER
    explicit = transport_from_config({"EDC_OUTBOX_DIR": str(tmp_path / "mail"), "EDC_MAIL_FROM": "a@b.example"})
    assert isinstance(explicit, OutboxTransport)
    assert explicit.directory == tmp_path / "mail" and explicit.sender == "a@b.example"


def test_smtp_settings(tmp_path):
    secret_file = tmp_path / "smtp-password"
    secret_file.write_text("from-a-file\n")
    transport = transport_from_config({
        "EDC_SMTP_HOST": "mail.univ.example",
        "EDC_SMTP_SECURITY": "SSL",
        "EDC_SMTP_USERNAME": "bridge",
        "EDC_SMTP_PASSWORD_FILE": str(secret_file),
        "EDC_SMTP_TIMEOUT": "12",
        "EDC_MAIL_FROM": "EDC Bridge <edc@univ.example>",
    })
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.security) == ("mail.univ.example", 465, "ssl")
    assert transport.timeout == 12 and transport.username == "bridge"
    assert transport.sender == "EDC Bridge <edc@univ.example>"
    assert "from-a-file" not in repr(transport)
    default = transport_from_config({"EDC_SMTP_HOST": "mail.univ.example", "EDC_MAIL_FROM": "e@univ.example"})
    assert (default.port, default.security) == (587, "starttls")
    assert (default.keepalive, default.max_per_connection, default.idle_check) == (30, 100, 5)


def test_smtp_connection_reuse_settings():
    transport = transport_from_config({
        "EDC_SMTP_HOST": "mail.univ.example", "EDC_MAIL_FROM": "e@univ.example",
        "EDC_SMTP_KEEPALIVE": "0", "EDC_SMTP_MAX_PER_CONNECTION": "20", "EDC_SMTP_IDLE_CHECK": "2.5",
    })
    assert (transport.keepalive, transport.max_per_connection, transport.idle_check) == (0, 20, 2.5)


@pytest.mark.parametrize(("extra", "field"), [
    ({"EDC_SMTP_PORT": "twenty-five"}, "EDC_SMTP_PORT"),
    ({"EDC_SMTP_PORT": "0"}, "EDC_SMTP_PORT"),
    ({"EDC_SMTP_SECURITY": "tls"}, "EDC_SMTP_SECURITY"),
    ({"EDC_SMTP_TIMEOUT": "-1"}, "EDC_SMTP_TIMEOUT"),
    ({"EDC_SMTP_KEEPALIVE": "-1"}, "EDC_SMTP_KEEPALIVE"),
    ({"EDC_SMTP_KEEPALIVE": "soon"}, "EDC_SMTP_KEEPALIVE"),
    ({"EDC_SMTP_KEEPALIVE": "nan"}, "EDC_SMTP_KEEPALIVE"),
    ({"EDC_SMTP_MAX_PER_CONNECTION": "0"}, "EDC_SMTP_MAX_PER_CONNECTION"),
    ({"EDC_SMTP_MAX_PER_CONNECTION": "1.5"}, "EDC_SMTP_MAX_PER_CONNECTION"),
    ({"EDC_SMTP_IDLE_CHECK": "-2"}, "EDC_SMTP_IDLE_CHECK"),
    ({"EDC_SMTP_USERNAME": "bridge"}, "EDC_SMTP_USERNAME"),
    ({"EDC_SMTP_PASSWORD": "hunter2-secret"}, "EDC_SMTP_USERNAME"),
    ({"EDC_SMTP_USERNAME": "u", "EDC_SMTP_PASSWORD": "hunter2-secret", "EDC_SMTP_SECURITY": "none"},
     "EDC_SMTP_SECURITY"),
    ({"EDC_SMTP_PASSWORD_FILE": "/nonexistent/secret", "EDC_SMTP_USERNAME": "u"}, "EDC_SMTP_PASSWORD_FILE"),
    ({"EDC_MAIL_FROM": ""}, "EDC_MAIL_FROM"),
    ({"EDC_MAIL_FROM": "Registrar <registrar@>"}, "EDC_MAIL_FROM"),
])
def test_bad_smtp_settings_name_the_variable_and_hide_values(extra, field):
    config = {"EDC_SMTP_HOST": "mail.univ.example", "EDC_MAIL_FROM": "edc@univ.example", **extra}
    with pytest.raises(DeliveryInputError) as info:
        transport_from_config(config)
    assert info.value.field == field
    assert "hunter2-secret" not in str(info.value)


def test_bad_outbox_sender_is_refused(tmp_path):
    with pytest.raises(DeliveryInputError) as info:
        transport_from_config({"EDC_OUTBOX_DIR": str(tmp_path), "EDC_MAIL_FROM": "nobody"})
    assert info.value.field == "EDC_MAIL_FROM"


def test_outbox_creates_missing_folders(tmp_path, summary, sealed_bytes):
    target: Path = tmp_path / "a" / "b"
    OutboxTransport(target).send(make_message(summary, sealed_bytes))
    assert len(list(target.glob("*.eml"))) == 1
