"""The credential e-mail's wire bytes, written without EmailMessage, read back with the email package."""
from __future__ import annotations

import copy
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from bridge.delivery.content import view_from_summary
from bridge.delivery.email import OutboxTransport, SmtpTransport
from bridge.delivery.i18n import environment
from bridge.delivery.message import WALLET_URL, build_credential_message
from bridge.delivery.mime import OutgoingMessage, encoded_words

SENDER = "Secrétariat « Examens » <registrar@univ.example>"
VERIFY = "https://verify.univ.example/c/1"


def learner_message(summary: dict[str, Any], sealed: bytes, lang: str, name: str, title: str) -> OutgoingMessage:
    summary = copy.deepcopy(summary)
    summary["title"] = {lang: title}
    return build_credential_message(
        to_email="learner@example.org", learner_name=name, lang=lang, summary=summary, sealed_bytes=sealed,
        filename="credential-1", verify_url=VERIFY, sender=SENDER, reply_to="Aide <help@univ.example>",
    )


def expected_bodies(summary: dict[str, Any], lang: str, name: str, title: str) -> tuple[str, str]:
    """What the templates render for this learner, independently of how the message is encoded."""
    summary = copy.deepcopy(summary)
    summary["title"] = {lang: title}
    context = {"lang": lang, "learner_name": name, "credential": view_from_summary(summary, lang),
               "verify_url": VERIFY, "attachment": "credential-1.jsonld", "wallet_url": WALLET_URL,
               "page_url": None, "manage_url": None, "pdf_attachment": None, "wallet": None,
               "colour": "#003399", "accent": "#ffcc00", "link_colour": "#003399"}
    env = environment(lang)
    return env.get_template("credential.txt").render(context), env.get_template("credential.html").render(context)


def parse(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)  # type: ignore[return-value]


def decoded(part: EmailMessage) -> str:
    return part.get_content().replace("\r\n", "\n")


@pytest.mark.parametrize(("lang", "name", "title", "subject"), [
    ("en", "Zoë Ærøskøbing-Åström <Jr.> & \"Co\"", "Data Analysis — « advanced » level",
     "Your credential: Data Analysis — « advanced » level"),
    ("fr", "Œdipe « Ñúñez » Ærøskøbing", "Électronique — niveau « avancé » " * 4,
     "Votre justificatif : " + " ".join(("Électronique — niveau « avancé » " * 4).split())),
])
def test_bytes_decode_to_the_same_headers_texts_and_attachment(summary, sealed_bytes, lang, name, title, subject):
    msg = learner_message(summary, sealed_bytes, lang, name, title)
    data = msg.as_bytes()

    # Wire format: CRLF only, 7-bit clean (no SMTPUTF8 needed), no line beyond 998 octets.
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.isascii() and not msg.smtputf8
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    header_block = data.split(b"\r\n\r\n", 1)[0]
    assert "Ærøskøbing".encode() not in header_block and b"=?utf-8?" in header_block

    parsed = parse(data)
    assert parsed["Subject"] == subject
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["To"].addresses[0].addr_spec == "learner@example.org"
    assert parsed["From"].addresses[0].display_name == "Secrétariat « Examens »"
    assert parsed["From"].addresses[0].addr_spec == "registrar@univ.example"
    assert parsed["Reply-To"].addresses[0].addr_spec == "help@univ.example"
    assert parsed["Content-Language"] == lang
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"] == msg["Message-ID"] and parsed["Date"].datetime is not None
    assert all(not parsed[h].defects for h in ("Subject", "From", "To", "Reply-To"))

    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "application/ld+json"]
    text, html = expected_bodies(summary, lang, name, title)
    assert decoded(parsed.get_body(("plain",))) == text
    assert decoded(parsed.get_body(("html",))) == html
    assert name in text
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_filename() == "credential-1.jsonld"
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_content() == sealed_bytes
    assert all(not part.defects for part in parsed.walk())

    assert (msg.mail_from, msg.recipients) == ("registrar@univ.example", ("learner@example.org",))
    assert msg["Subject"] == subject and msg["Content-Language"] == lang


def test_long_and_cjk_headers_are_folded_and_decode_exactly(summary, sealed_bytes):
    title = "深度学习与自然语言处理 " * 15
    name = "李小龍 " * 40
    data = learner_message(summary, sealed_bytes, "en", name.strip(), title).as_bytes()
    subject_lines = data.split(b"\r\nFrom:")[0].split(b"\r\n")
    assert len(subject_lines) > 3 and all(len(line) <= 78 for line in subject_lines[1:])
    parsed = parse(data)
    assert parsed["Subject"] == "Your credential: " + " ".join(title.split())[:149].rstrip() + "…"
    assert parsed["To"].addresses[0].display_name == name.strip()


def test_text_that_looks_like_an_encoded_word_stays_literal(summary, sealed_bytes):
    parsed = parse(learner_message(summary, sealed_bytes, "en", "=?utf-8?q?Admin?=", "=?utf-8?q?x?= 101").as_bytes())
    assert parsed["To"].addresses[0].display_name == "=?utf-8?q?Admin?="
    assert parsed["Subject"] == "Your credential: =?utf-8?q?x?= 101"


def test_ascii_text_parts_are_7bit_and_others_quoted_printable_or_base64(summary, sealed_bytes):
    msg = learner_message(summary, sealed_bytes, "en", "Ann Smith", "Data")
    encodings = [p["Content-Transfer-Encoding"] for p in parse(msg.as_bytes()).walk() if not p.is_multipart()]
    assert encodings[2] == "base64"
    assert all(cte in ("7bit", "quoted-printable", "base64") for cte in encodings)


@pytest.mark.parametrize("text", ["", "a", "Œ" * 100, "a b " * 40, "« »", "x" * 200])
def test_encoded_words_round_trip_and_respect_75_characters(text):
    words = encoded_words(text)
    assert all(len(word) <= 75 for word in words)
    raw = b"Subject: " + "\r\n ".join(words).encode() + b"\r\n\r\n"
    assert parse(raw)["Subject"] == text


def test_smtp_and_outbox_send_the_built_bytes_unchanged(smtp_server, tmp_path, summary, sealed_bytes):
    msg = learner_message(summary, sealed_bytes, "fr", "Léa", "Chimie")
    SmtpTransport(smtp_server.host, smtp_server.port, security="none", sender=SENDER, keepalive=0).send(msg)
    [received] = smtp_server.handler.received
    assert received.raw.rstrip(b"\r\n") == msg.as_bytes().rstrip(b"\r\n")
    OutboxTransport(tmp_path, sender=SENDER).send(msg)
    [eml] = tmp_path.glob("*.eml")
    assert eml.read_bytes() == msg.as_bytes()


def test_headers_can_be_replaced_without_touching_the_body(summary, sealed_bytes):
    msg = learner_message(summary, sealed_bytes, "en", "Ann", "Data")
    body = msg.body
    del msg["Message-ID"]
    assert msg["Message-ID"] is None and "Message-ID" not in msg
    msg["Message-ID"] = "<1@univ.example>"
    assert parse(msg.as_bytes())["Message-ID"] == "<1@univ.example>"
    assert msg.body is body
    with pytest.raises(ValueError):
        msg["X-Test"] = "a\r\nBcc: victim@example.org"
