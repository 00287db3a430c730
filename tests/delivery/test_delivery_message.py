"""The credential e-mail as built (no transport): languages, structure, escaping, bad input."""
from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bridge.delivery.errors import DeliveryInputError
from bridge.delivery.message import WALLET_URL, build_credential_message
from bridge.elm.assemble import assemble
from bridge.elm.completion import Completion
from bridge.elm.issuer import Issuer
from bridge.elm.summary import summarise
from bridge.elm.template import CourseTemplate

SENDER = "Registrar <registrar@univ.example>"
SKILL_URI = "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4"


def build(summary: dict[str, Any], sealed: bytes, **overrides: Any) -> EmailMessage:
    args: dict[str, Any] = {
        "to_email": "camille@example.org",
        "learner_name": "Camille Martin",
        "lang": "en",
        "summary": summary,
        "sealed_bytes": sealed,
        "filename": "credential-42",
        "sender": SENDER,
    }
    args.update(overrides)
    return build_credential_message(**args)


def roundtrip(msg: EmailMessage) -> EmailMessage:
    """Serialise and parse again, as a receiving mail client would."""
    return message_from_bytes(msg.as_bytes(), policy=policy.default)  # type: ignore[return-value]


def bodies(msg: EmailMessage) -> tuple[str, str]:
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


PAGE = "https://edc.univ.example/c/tok3nTOK3Ntok3nTOK3Ntok3nTOK3N"
MANAGE = "https://edc.univ.example/c/manage/m4nageM4NAGEm4nageM4NAGE"


def test_english_message_summarises_the_achievement(summary, sealed_bytes):
    msg = roundtrip(build(summary, sealed_bytes, page_url=PAGE, manage_url=MANAGE,
                          verify_url="https://edc.univ.example/verify"))
    text, html = bodies(msg)
    assert msg["Subject"] == "Your credential: Data Analysis with Python"
    assert msg["Content-Language"] == "en"
    for body in (text, html):
        assert "Dear Camille Martin," in body
        assert "Example University" in body
        assert "November 20, 2026" in body
        assert "2.5" in body
        assert "Adapt to change at work" in body
        assert "adapt to change" in body
        assert "Very good" in body
        assert "View your credential" in body
        assert PAGE in body and MANAGE in body
        assert WALLET_URL in body
        assert "credential-42.jsonld" in body
        assert "edc-bridge" not in body  # never a command
    assert f'<a href="{PAGE}"' in html  # the button, and "Verify"
    assert html.count(f'href="{PAGE}"') == 2


def test_html_part_suits_mail_clients(summary, sealed_bytes):
    """Tables and inline styles, light and dark schemes, no image (so no remote one), no unsubscribe."""
    msg = roundtrip(build(summary, sealed_bytes, page_url=PAGE, manage_url=MANAGE))
    _, html = bodies(msg)
    assert '<table role="presentation"' in html and 'style="' in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "<img" not in html and "url(" not in html and "<link" not in html
    assert "List-Unsubscribe" not in msg and msg["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(("wallet", "en"), [
    ("delivered", "It is already in your Europass wallet"),
    ("pending", "It is being added to your Europass wallet"),
    ("no_wallet", "there is none for this e-mail address yet"),
    ("failed", "To add it yourself, sign in to"),
    (None, "To add it yourself, sign in to"),
])
def test_wallet_status_is_told(summary, sealed_bytes, wallet, en):
    text, html = bodies(roundtrip(build(summary, sealed_bytes, page_url=PAGE, wallet=wallet)))
    assert en in text and en in html
    if wallet in ("delivered", "pending"):
        assert "upload credential-42.jsonld" not in text


def test_pdf_is_attached_after_the_sealed_file(summary, sealed_bytes):
    pdf = b"%PDF-1.7\n% a PDF\n%%EOF\n"
    msg = roundtrip(build(summary, sealed_bytes, page_url=PAGE, pdf_bytes=pdf))
    attachments = list(msg.iter_attachments())
    assert [(a.get_content_type(), a.get_filename()) for a in attachments] == [
        ("application/ld+json", "credential-42.jsonld"), ("application/pdf", "credential-42.pdf")]
    assert attachments[0].get_content() == sealed_bytes and attachments[1].get_content() == pdf
    text, _ = bodies(msg)
    assert "credential-42.pdf, a sealed PDF" in text


def test_french_message_uses_the_catalogue_and_french_formats(summary, sealed_bytes):
    msg = roundtrip(build(summary, sealed_bytes, lang="fr-BE", verify_url="https://edc.univ.example/verify"))
    text, html = bodies(msg)
    assert msg["Subject"] == "Votre justificatif : Analyse de données avec Python"
    assert msg["Content-Language"] == "fr"
    assert '<html lang="fr">' in html
    for body in (text, html):
        assert "Bonjour Camille Martin," in body
        assert "Université Exemple vous a délivré" in body
        assert "20 novembre 2026" in body
        assert "2,5" in body
        assert "S'adapter au changement" in body or "S&#39;adapter au changement" in body
        assert "Très bien" in body
        assert "edc-bridge" not in body
        assert "https://edc.univ.example/verify" in body  # no page here: the public verification page
        assert "portefeuille europass" in body.lower()
    assert "Dear" not in text and "Your credential" not in text


@pytest.mark.parametrize("lang", ["pt-BR", "xx", None, ""])
def test_languages_without_catalogue_fall_back_to_english(summary, sealed_bytes, lang):
    msg = build(summary, sealed_bytes, lang=lang)
    assert msg["Content-Language"] == "en"
    assert msg["Subject"] == "Your credential: Data Analysis with Python"


def test_attachment_is_the_exact_sealed_bytes(summary, sealed_bytes):
    msg = roundtrip(build(summary, sealed_bytes, filename="credential-42.jsonld"))
    attachments = list(msg.iter_attachments())
    assert len(attachments) == 1
    part = attachments[0]
    assert part.get_content_type() == "application/ld+json"
    assert part.get_filename() == "credential-42.jsonld"
    assert part.get_content() == sealed_bytes


def test_headers(summary, sealed_bytes):
    msg = roundtrip(build(summary, sealed_bytes, reply_to="help@univ.example"))
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@univ.example>")
    assert msg["Date"].datetime is not None
    assert msg["From"].addresses[0].addr_spec == "registrar@univ.example"
    assert msg["To"].addresses[0].addr_spec == "camille@example.org"
    assert msg["To"].addresses[0].display_name == "Camille Martin"
    assert msg["Reply-To"].addresses[0].addr_spec == "help@univ.example"
    assert msg.get_content_type() == "multipart/mixed"
    alternative = next(msg.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"


def test_two_messages_get_different_ids(summary, sealed_bytes):
    assert build(summary, sealed_bytes)["Message-ID"] != build(summary, sealed_bytes)["Message-ID"]


def test_html_escapes_names_and_texts_but_plain_text_keeps_them(summary, sealed_bytes):
    name = "Zoë <script>alert(1)</script> & \"Co\""
    summary["issuer"] = {"name": "Tom & Jerry <School>"}
    summary["achievements"][0]["outcomes"] = ["Use <b>bold</b> & italics"]
    summary["achievements"][0]["skills"].append({"uri": "javascript:alert(1)", "label": "evil"})
    msg = roundtrip(build(summary, sealed_bytes, learner_name=name))
    text, html = bodies(msg)
    assert "<script>" not in html
    assert "Zoë &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;Co&#34;" in html
    assert "Tom &amp; Jerry &lt;School&gt;" in html
    assert "Use &lt;b&gt;bold&lt;/b&gt; &amp; italics" in html
    assert "javascript:" not in html
    assert "evil" in html
    assert name in text
    assert "Tom & Jerry <School>" in text
    assert msg["To"].addresses[0].display_name == name


@pytest.mark.parametrize("repeat", [1, 4])
def test_non_ascii_subject_and_name_survive_encoding(summary, sealed_bytes, repeat):
    """Spaces between non-ASCII words must survive header encoding (French « » quotes), long or short."""
    title = " ".join(["Électronique — niveau « avancé »"] * repeat)
    summary["title"] = {"fr": title}
    name = "Œdipe « Ñúñez » Ærøskøbing-Åström"
    msg = roundtrip(build(summary, sealed_bytes, lang="fr", learner_name=name))
    assert msg["Subject"] == f"Votre justificatif : {title}"
    assert msg["To"].addresses[0].display_name == name


def test_overlong_titles_are_shortened_in_the_subject_only(summary, sealed_bytes):
    summary["title"] = {"en": "Advanced " * 60}
    msg = roundtrip(build(summary, sealed_bytes))
    assert len(msg["Subject"]) < 200 and msg["Subject"].endswith("…")
    assert ("Advanced " * 60).strip() in bodies(msg)[0]


def test_sparse_summary_still_builds_a_message(sealed_bytes):
    msg = roundtrip(build({"achievements": [{"title": None, "skills": "oops", "outcomes": None}, "junk"]},
                          sealed_bytes, learner_name=None))
    text, html = bodies(msg)
    assert msg["Subject"] == "Your European Digital Credential"
    assert text.startswith("Hello,")
    assert "You have been issued a European Digital Credential" in text
    assert "ECTS" not in text and "EQF" not in html
    assert list(msg.iter_attachments())[0].get_content() == sealed_bytes


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"to_email": "not-an-address"}, "to_email"),
        ({"to_email": "camille@example.org\r\nBcc: victim@example.org"}, "to_email"),
        ({"learner_name": "Camille\r\nBcc: victim@example.org"}, "learner_name"),
        ({"sender": "nobody"}, "sender"),
        ({"reply_to": "x@y"}, "reply_to"),
        ({"sealed_bytes": b""}, "sealed_bytes"),
        ({"sealed_bytes": "text, not bytes"}, "sealed_bytes"),
        ({"filename": "../../etc/passwd"}, "filename"),
        ({"filename": "a/b"}, "filename"),
        ({"verify_url": "javascript:alert(1)"}, "verify_url"),
    ],
)
def test_bad_input_names_the_field(summary, sealed_bytes, overrides, field):
    with pytest.raises(DeliveryInputError) as info:
        build(summary, sealed_bytes, **overrides)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


@pytest.mark.parametrize(("lang", "expected"), [
    ("en", ["Dear Camille Martin,", "Université Exemple", "ECTS credits: 5", "EQF level: 6", "0613", "adapt to change",
            "87.5/100 (Très bien)", "Adapt to change at work"]),
    ("fr", ["Bonjour Camille Martin,", "Université Exemple vous a délivré", "Crédits ECTS : 5", "Niveau CEC : 6",
            "s'adapter au changement", "S'adapter au changement au travail"]),
])
def test_message_from_a_credential_assembled_and_summarised_by_bridge_elm(sealed_bytes, lang, expected):
    """The real producer of ``summary``: assemble() on the shipped examples, then summarise()."""
    examples = Path(__file__).resolve().parents[2] / "examples"
    credential = assemble(
        CourseTemplate.from_dict(json.loads((examples / "course-template.json").read_text("utf-8"))),
        Completion.from_dict(json.loads((examples / "completion.json").read_text("utf-8"))),
        Issuer(legal_name={"en": "Credential Services SARL"}, eidas_identifier="NTRFR-987654321", country="FR"),
    )
    msg = roundtrip(build(summarise(credential, lang), sealed_bytes, lang=lang))
    text, html = bodies(msg)
    for snippet in expected:
        assert snippet in text


def test_revocation_notice_is_written_by_the_same_header_builder(summary, sealed_bytes):
    from bridge.delivery.notice import build_revocation_notice

    credential = build(summary, sealed_bytes, lang="fr")
    notice = build_revocation_notice(to_email="camille@example.org", learner_name="Camille Martin", lang="fr",
                                     title="Analyse de données", reason="note saisie par erreur",
                                     issuer="Université Exemple", sender=SENDER)
    assert notice.keys() == credential.keys()
    parsed = roundtrip(notice)
    assert parsed["Content-Language"] == "fr" and parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["From"] == SENDER and parsed["To"] == "Camille Martin <camille@example.org>"
    assert parsed["Message-ID"] != roundtrip(credential)["Message-ID"]
    assert "note saisie par erreur" in parsed.get_body(("plain",)).get_content()
