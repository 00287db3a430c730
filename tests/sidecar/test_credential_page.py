"""The learner's side, end to end in the sidecar: the e-mail's links, the credential page (verdict from the
one verification, French labels, hide/show, downloads, LinkedIn), and the PDF made once, sealed and stored."""
from __future__ import annotations

import io
import json
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from lxml import html as lxml_html
from PIL import Image
from sqlalchemy import select

from bridge.db.models import CredentialPage
from bridge.demo_pictures import qr_text
from sealer.pades import verify_pdf

from .conftest import Sidecar, example_completion, make_sidecar

PUBLIC = "http://sidecar.test"


@pytest.fixture
def car(tmp_path: Path, db_url: str, dev_seal_p12: Path) -> Sidecar:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_VERIFY_TRUST=str(dev_seal_p12.parent / "dev-ca.pem"),
                       EDC_EMAIL_PDF="1")
    car.add_source()
    car.put_template()
    return car


def _issue(car: Sidecar, **learner: str) -> dict:
    completion = example_completion(learner={"id": "17", **learner})
    completion["grade"]["language"] = "fr"
    cred_id = car.admin("POST", "/api/v1/completions", completion).json["id"]
    car.drain()
    return car.admin("GET", f"/api/v1/credentials/{cred_id}").json


def _path(url: str) -> str:
    assert url.startswith(PUBLIC)
    return url.removeprefix(PUBLIC)


def _email(car: Sidecar) -> object:
    [eml] = sorted(Path(car.settings.outbox_dir).glob("*.eml"))
    return message_from_bytes(eml.read_bytes(), policy=policy.default)


def test_email_links_the_page_and_attaches_the_sealed_file_and_pdf(car: Sidecar) -> None:
    status = _issue(car)
    assert status["status"] == "delivered"
    page_url = status["page_url"]
    message = _email(car)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert page_url in text and f'href="{page_url}"' in html
    assert "/c/manage/" in text
    assert "edc-bridge verify" not in text + html
    assert "Conception et analyse de logiciels et d'applications" in text  # ISCED-F label in French
    assert "Software and applications" not in text + html
    kinds = [(part.get_content_type(), part.get_filename()) for part in message.iter_attachments()]
    assert kinds == [("application/ld+json", f"credential-{status['id']}.jsonld"),
                     ("application/pdf", f"credential-{status['id']}.pdf")]
    pdf = list(message.iter_attachments())[1].get_content()
    assert car.client.get(_path(page_url) + "/credential.pdf").data == pdf  # the stored one


def test_page_shows_the_credential_and_the_live_verdict(car: Sidecar) -> None:
    status = _issue(car)
    page = car.client.get(_path(status["page_url"]) + "?lang=fr")
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer" and "noindex" in page.headers["X-Robots-Tag"]
    assert "script-src" not in page.headers["Content-Security-Policy"]
    doc = lxml_html.fromstring(page.data)
    assert doc.get("lang") == "fr" and not doc.xpath("//script")
    verdict = doc.xpath("//section[contains(@class, 'verdict-box')]")[0]
    assert "verdict-valid" in verdict.get("class")
    text = doc.text_content()
    assert "Camille Martin" in text and "Analyse de données avec Python" in text
    assert "Conception et analyse de logiciels et d'applications" in text
    assert "En ligne" in text and "apprentissage non formel" in text
    assert "Software and applications" not in text and "Online" not in text
    # The same verification as /verify: the report's details are on the page.
    assert doc.xpath("//details[@class='verification']//*[@id='result-heading']")
    linkedin = doc.xpath("//a[contains(@href, 'linkedin.com/profile/add')]/@href")[0]
    query = parse_qs(urlsplit(linkedin).query)
    assert query["startTask"] == ["CERTIFICATION_NAME"] and query["certUrl"] == [status["page_url"]]
    assert query["certId"] == [status["id"]] and query["organizationName"] == ["Université Exemple"]
    assert query["issueYear"][0].isdigit() and query["issueMonth"][0].isdigit()
    assert doc.xpath("//input[@id='page-link']/@value") == [status["page_url"]]
    sealed = car.client.get(_path(status["page_url"]) + "/credential.jsonld")
    assert sealed.data == car.admin("GET", f"/api/v1/credentials/{status['id']}/sealed").data
    assert sealed.mimetype == "application/ld+json"


def test_page_offers_the_credentials_own_languages(car: Sidecar) -> None:
    status = _issue(car)
    english = lxml_html.fromstring(car.client.get(_path(status["page_url"]) + "?lang=en").data)
    assert "Data Analysis with Python" in english.text_content()
    assert "Software and applications development and analysis" in english.text_content()
    switch = english.xpath("//nav[contains(@class, 'languages')]//a/@hreflang")
    assert switch[:2] == ["en", "fr"]


def test_without_the_pdf_in_the_email_it_is_made_on_first_download(tmp_path: Path, db_url: str,
                                                                   dev_seal_p12: Path) -> None:
    car = make_sidecar(tmp_path, db_url, dev_seal_p12, EDC_EMAIL_PDF="0")
    car.add_source()
    car.put_template()
    status = _issue(car)
    assert [part.get_content_type() for part in _email(car).iter_attachments()] == ["application/ld+json"]
    with car.rt.sessions() as session:
        assert session.get(CredentialPage, status["id"]).pdf is None
    pdf = car.client.get(_path(status["page_url"]) + "/credential.pdf").data
    assert pdf.startswith(b"%PDF-")
    with car.rt.sessions() as session:
        assert bytes(session.get(CredentialPage, status["id"]).pdf) == pdf


def test_learner_hides_and_shows_the_page(car: Sidecar) -> None:
    status = _issue(car)
    page = _path(status["page_url"])
    manage = next(line for line in _email(car).get_body(("plain",)).get_content().splitlines() if "/c/manage/" in line)
    manage = _path(manage.strip())
    assert car.client.get(manage).status_code == 200
    hidden = car.client.post(manage, data={"action": "hide"})
    assert hidden.status_code == 303
    gone = car.client.get(page)
    unknown = car.client.get("/c/no-such-token-0123456789abcdefghij")
    assert gone.status_code == unknown.status_code == 404
    assert gone.data.replace(b"no-such-token-0123456789abcdefghij", b"") .count(b"hidden the page") == \
        unknown.data.count(b"hidden the page")  # a hidden page says nothing more than an unknown one
    assert car.client.get(page + "/credential.pdf").status_code == 404
    assert car.client.post(manage, data={"action": "show"}).status_code == 303
    assert car.client.get(page).status_code == 200
    assert car.client.post(manage, data={"action": "delete"}).status_code == 400


def test_revoked_credential_says_so_and_offers_nothing(car: Sidecar) -> None:
    status = _issue(car)
    assert car.admin("POST", f"/api/v1/credentials/{status['id']}:revoke", {"reason": "fraud"}).status_code == 200
    doc = lxml_html.fromstring(car.client.get(_path(status["page_url"]) + "?lang=en").data)
    assert "verdict-revoked" in doc.xpath("//section[contains(@class, 'verdict-box')]/@class")[0]
    assert not doc.xpath("//a[contains(@href, 'linkedin.com')]")


def test_pdf_is_made_once_sealed_with_the_eseal_and_its_qr_leads_to_the_page(car: Sidecar,
                                                                             dev_seal_p12: Path) -> None:
    status = _issue(car)
    with car.rt.sessions() as session:
        row = session.scalar(select(CredentialPage).where(CredentialPage.credential_id == status["id"]))
        made, first = row.pdf_made_at, bytes(row.pdf)
    download = car.client.get(_path(status["page_url"]) + "/credential.pdf")
    assert download.data == first and download.mimetype == "application/pdf"
    with car.rt.sessions() as session:
        assert session.get(CredentialPage, status["id"]).pdf_made_at == made  # not made again
    seal = x509.load_pem_x509_certificate((dev_seal_p12.parent / "dev-seal.pem").read_bytes())
    ca = x509.load_pem_x509_certificate((dev_seal_p12.parent / "dev-ca.pem").read_bytes())
    report = verify_pdf(first, trust=[ca])
    assert report.intact and report.valid and report.covers_whole_file and report.signer == seal
    tampered = first.replace(b"/Title", b"/Titel", 1)
    assert not verify_pdf(tampered, trust=[ca]).intact or tampered == first
    import pypdfium2

    document = pypdfium2.PdfDocument(first)
    picture = document[0].render(scale=2).to_pil()
    document.close()
    png = io.BytesIO()
    picture.save(png, format="PNG")
    path = Path(car.settings.data_dir) / "page1.png"
    path.write_bytes(png.getvalue())
    assert qr_text(path) == [status["page_url"]]
    assert Image.open(path).size[0] > 1000
    # The sealed credential travels inside the PDF too.
    assert json.loads(car.client.get(_path(status["page_url"]) + "/credential.jsonld").data)["payload"]


def test_no_english_code_list_label_or_command_reaches_a_french_reader(car: Sidecar) -> None:
    from bridge.demo_pictures import commands_in, readable_text, untranslated_labels

    status = _issue(car)
    message = _email(car)
    page = car.client.get(_path(status["page_url"]) + "?lang=fr").get_data(as_text=True)
    for text in (message.get_body(("plain",)).get_content(), readable_text(message.get_body(("html",)).get_content()),
                 readable_text(page)):
        assert untranslated_labels(text, "fr") == [] and commands_in(text) == []
    english = readable_text(car.client.get(_path(status["page_url"]) + "?lang=en").get_data(as_text=True))
    assert "Software and applications development and analysis" in untranslated_labels(english, "fr")
