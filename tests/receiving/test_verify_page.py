"""The verification page and POST /api/v1/verify on real credentials: EDC's own sealed sample, the
legacy XAdES sample, and credentials this sidecar issues (then revokes) through its real pipeline."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lxml import html as lxml_html

from tests.receiving.conftest import COMPLETED_AT, PUBLIC_URL, Sidecar, example_template, make_sidecar

PINNED_VALIDATION = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)


def page(response: Any) -> Any:
    assert response.mimetype == "text/html"
    return lxml_html.fromstring(response.data)


def text_of(doc: Any, element_id: str) -> str:
    found = doc.get_element_by_id(element_id)
    return " ".join(found.text_content().split())


def test_form_is_accessible_without_javascript(sidecar: Sidecar) -> None:
    response = sidecar.client.get("/verify")
    assert response.status_code == 200
    doc = page(response)
    assert doc.get("lang") == "en"
    assert not doc.xpath("//script")
    assert "script-src" not in response.headers["Content-Security-Policy"]
    form = doc.xpath("//form")[0]
    assert form.get("method") == "post" and form.get("enctype") == "multipart/form-data"
    file_input = doc.xpath("//input[@type='file']")[0]
    label = doc.xpath(f"//label[@for='{file_input.get('id')}']")
    assert label and label[0].text_content().strip() == "Sealed credential file"
    assert doc.get_element_by_id(file_input.get("aria-describedby")) is not None
    assert doc.xpath("//main[@id='main']") and doc.xpath("//header") and doc.xpath("//footer")
    assert doc.xpath("//a[@href='#main']")  # skip link
    assert doc.get_element_by_id("result").get("aria-live") == "polite"
    css = sidecar.client.get(doc.xpath("//link[@rel='stylesheet']")[0].get("href"))
    assert css.status_code == 200
    assert b"@media print" in css.data and b":focus-visible" in css.data


def test_language_from_query_or_accept_language(sidecar: Sidecar) -> None:
    doc = page(sidecar.client.get("/verify", headers={"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"}))
    assert doc.get("lang") == "fr"
    assert doc.xpath("//h1")[0].text_content() == "Vérifier un justificatif numérique européen"
    doc = page(sidecar.client.get("/verify?lang=en", headers={"Accept-Language": "fr"}))
    assert doc.get("lang") == "en"
    doc = page(sidecar.client.get("/verify?lang=de", headers={"Accept-Language": "de"}))
    assert doc.get("lang") == "en"  # no German page: English rather than a mixed page
    switch = page(sidecar.client.get("/verify")).xpath("//a[@hreflang='fr']")[0].get("href")
    assert page(sidecar.client.get(switch)).get("lang") == "fr"


def test_edc_sample_is_intact_but_indeterminate_without_anchors(sidecar: Sidecar, edc_signed: bytes) -> None:
    response = sidecar.upload(edc_signed, "Sample-CertOfPart-signed.jsonld")
    assert response.status_code == 200
    doc = page(response)
    assert "Cannot be confirmed" in text_of(doc, "result-heading")
    assert "could not be traced to a trusted authority" in text_of(doc, "indeterminate")
    assert text_of(doc, "seal-valid").startswith("yes (JAdES B-LTA)")
    assert text_of(doc, "sealed-by") == "ORGANIZACION TEST"
    assert "VATES-A00000000" in doc.text_content()
    assert text_of(doc, "trusted").startswith("not checked")
    assert text_of(doc, "conforms") == "yes"
    assert text_of(doc, "revocation") == "unknown: not issued by this service; ask the issuer"
    assert text_of(doc, "learner") == "Ana Andromeda"
    assert text_of(doc, "credential-title") == "Certificate of Participation"
    assert "EDC Updates Webinar" in text_of(doc, "achievement-1")
    section = doc.xpath("//section[@class='achievement']")[0]
    assert "Volume of learning" in section.text_content() and "Volume of learning2 months" in section.text_content()


def test_edc_sample_in_french(sidecar: Sidecar, edc_signed: bytes) -> None:
    doc = page(sidecar.upload(edc_signed, lang="fr"))
    assert doc.get("lang") == "fr"
    assert text_of(doc, "result-heading").startswith("Non confirmé")
    assert "autorité de confiance" in text_of(doc, "indeterminate")
    assert text_of(doc, "conforms") == "oui"
    # Messages from the seal verifier are English and marked so for screen readers.
    assert doc.xpath("//div[@class='notes']//ul[@lang='en']")


def test_tampered_edc_sample_is_not_valid(sidecar: Sidecar, edc_signed: bytes) -> None:
    tampered = edc_signed.replace(b"Ana Andromeda", b"Ana Andromedb", 1)
    assert tampered != edc_signed
    response = sidecar.upload(tampered)
    assert response.status_code == 200
    doc = page(response)
    assert "Not valid" in text_of(doc, "result-heading")
    assert text_of(doc, "seal-valid").startswith("no")
    assert doc.xpath("//div[@role='alert']")
    assert b"Andromedb" not in response.data and not doc.xpath("//*[@id='recognition']")
    api = sidecar.client.post("/api/v1/verify", data=tampered, content_type="application/ld+json")
    assert api.status_code == 200 and api.json["ok"] is False and api.json["verdict"] == "invalid"
    assert api.json["seal"]["signature_intact"] is False and api.json["errors"]
    assert api.json["credential"] is None


def test_legacy_xades_credential(sidecar: Sidecar, edc_xml: bytes) -> None:
    doc = page(sidecar.upload(edc_xml, "EDC_DiplomaSupplement_AA.xml"))
    assert text_of(doc, "seal-valid").startswith("yes (XAdES")
    assert text_of(doc, "conforms").startswith("not applicable")
    assert "legacy XML credential" in doc.text_content()
    api = sidecar.client.post("/api/v1/verify", data=edc_xml, content_type="application/xml").json
    assert api["seal"]["format"] == "XAdES" and api["seal"]["signature_intact"] is True
    assert api["verdict"] == "indeterminate"
    assert api["credential"] is None


def test_api_report_for_edc_sample(sidecar: Sidecar, edc_signed: bytes) -> None:
    # The validation time is pinned: both reports below must be equal to the second, validation_time included.
    sidecar.rt.verify_clock = lambda: PINNED_VALIDATION
    response = sidecar.client.post("/api/v1/verify?lang=fr", data=edc_signed, content_type="application/json")
    assert response.status_code == 200
    report = response.json
    assert report["report_version"] == "1"
    assert report["ok"] is False and report["verdict"] == "indeterminate"
    assert report["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    assert report["seal"]["certificate"]["organization_identifier"] == "VATES-A00000000"
    assert report["seal"]["trust"] == {"anchors": None, "chain_trusted": None, "chain": []}
    assert report["issuer"]["matches_sealer"] is True
    assert report["content"]["conforms"] is True
    assert report["seal"]["validation_time"] == "2026-03-02T09:30:00Z"
    achievement = report["credential"]["achievements"][0]
    assert achievement["title"] == "EDC Updates Webinar" and achievement["volume_of_learning"] == "P2M"
    form = sidecar.client.post("/api/v1/verify", data={"file": (__import__("io").BytesIO(edc_signed), "c.jsonld")},
                               content_type="multipart/form-data")
    assert form.status_code == 200
    # One report, however the file is sent (the language of the credential's texts aside).
    assert form.json == response.json | {"credential": form.json["credential"]}


def test_our_credential_recognition_revocation_and_catalogue_link(tmp_path: Any, dev_seal: Any) -> None:
    sidecar = make_sidecar(tmp_path, dev_seal, EDC_VERIFY_TRUST=str(dev_seal.ca_certificate_path))
    cred_id, sealed = sidecar.issue()
    report = sidecar.client.post("/api/v1/verify", data=sealed, content_type="application/ld+json").json
    assert report["verdict"] == "valid", report["errors"]
    assert report["revocation"] == {"status": "not_revoked", "issued_here": True}
    credential = report["credential"]
    assert credential["id"] == f"urn:credential:{cred_id}"
    assert credential["learner"]["name"] == "Camille Martin"
    achievement = credential["achievements"][0]
    assert achievement["ects"] == "5" and achievement["eqf_level"] == 6
    assert achievement["isced_f"][0]["code"] == "0613"
    assert achievement["learning_opportunity"] == f"{PUBLIC_URL}/catalogue/moodle-main/42.jsonld"
    skills = {s["uri"]: s["label"] for o in achievement["learning_outcomes"] for s in o["esco_skills"]}
    assert "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4" in skills
    assert achievement["assessments"] and achievement["awarding_date"] == COMPLETED_AT

    french = sidecar.client.post("/api/v1/verify?lang=fr", data=sealed, content_type="application/ld+json").json
    outcomes = french["credential"]["achievements"][0]["learning_outcomes"]
    assert outcomes[0]["text"] == "Nettoyer et analyser un jeu de données réel avec Python"
    assert "effectuer une analyse de données" in [s["label"] for s in outcomes[0]["esco_skills"]]

    doc = page(sidecar.upload(sealed))
    assert text_of(doc, "revocation") == "no (issued by this service)"
    links = [a.get("href") for a in doc.xpath("//ul[@class='skills']//a")]
    assert "http://data.europa.eu/esco/skill/49de9958-2aa4-4eef-a89d-fe5d5bcd28c4" in links

    revoked = sidecar.admin("POST", f"/api/v1/credentials/{cred_id}:revoke", {"reason": "issued in error"})
    assert revoked.status_code == 200, revoked.json
    report = sidecar.client.post("/api/v1/verify", data=sealed, content_type="application/ld+json").json
    assert report["ok"] is False and report["verdict"] == "invalid"
    assert report["sub_indication"] == "CREDENTIAL_REVOKED"
    assert report["revocation"]["status"] == "revoked" and report["revocation"]["revoked_at"]
    doc = page(sidecar.upload(sealed, lang="fr"))
    assert text_of(doc, "result-heading").startswith("Révoqué")
    assert text_of(doc, "revocation").startswith("oui, révoqué par ce service le")


def test_trust_anchors_from_configuration(tmp_path: Any, dev_seal: Any, edc_signed: bytes) -> None:
    car = make_sidecar(tmp_path, dev_seal, EDC_VERIFY_TRUST=str(dev_seal.ca_certificate_path))
    _cred_id, sealed = car.issue()
    ours = car.client.post("/api/v1/verify", data=sealed, content_type="application/ld+json").json
    assert ours["seal"]["trust"]["chain_trusted"] is True and ours["ok"] is True
    theirs = car.client.post("/api/v1/verify", data=edc_signed, content_type="application/ld+json").json
    assert theirs["seal"]["trust"]["chain_trusted"] is False and theirs["ok"] is False
    assert theirs["verdict"] == "indeterminate" and theirs["sub_indication"] == "NO_CERTIFICATE_CHAIN_FOUND"
    doc = page(car.upload(edc_signed))
    assert text_of(doc, "trusted") == "no"


def test_same_id_other_content_is_not_reported_as_ours(sidecar: Sidecar, dev_seal: Any) -> None:
    """A valid seal by someone else on a credential reusing one of our ids must not borrow our status."""
    from sealer.jades import dumps, seal_jades
    from sealer.keys import Pkcs12KeySource

    cred_id, sealed = sidecar.issue()
    payload = json.loads(json.loads(sealed)["payload"])
    payload["credentialSubject"]["fullName"] = {"en": "Somebody Else"}
    other = Pkcs12KeySource(dev_seal.pkcs12_path, "dev-seal")
    forged = dumps(seal_jades(json.dumps(payload).encode(), other))
    report = sidecar.client.post("/api/v1/verify", data=forged, content_type="application/ld+json").json
    assert report["seal"]["signature_intact"] is True
    assert report["revocation"]["status"] == "unknown"
    assert report["ok"] is False
    assert any("differs from what it sealed" in e for e in report["errors"])
    assert report["credential"]["id"] == f"urn:credential:{cred_id}"


def test_an_unchecked_trusted_list_file_is_not_used_as_anchors(tmp_path: Any, dev_seal: Any) -> None:
    """A trusted list counts only once its signature is checked: a bare .xml file is refused, clearly."""
    listing = tmp_path / "tl.xml"
    listing.write_bytes(b'<?xml version="1.0"?><TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#"/>')
    car = make_sidecar(tmp_path, dev_seal, EDC_VERIFY_TRUST=str(listing))
    _cred_id, sealed = car.issue()
    report = car.client.post("/api/v1/verify", data=sealed, content_type="application/ld+json").json
    assert report["ok"] is False and report["verdict"] == "indeterminate"
    assert any("trust update" in e for e in report["errors"]), report["errors"]


def test_api_reports_in_any_language_the_credential_carries(sidecar: Sidecar) -> None:
    german = example_template()
    german["title"]["de"] = "Datenanalyse mit Python"
    sidecar.add_course(template=german)
    _cred_id, sealed = sidecar.issue()
    for query, headers in (("?lang=de", {}), ("", {"Accept-Language": "de-AT, en;q=0.5"})):
        report = sidecar.client.post(f"/api/v1/verify{query}", data=sealed, content_type="application/ld+json",
                                     headers=headers).json
        assert report["credential"]["achievements"][0]["title"] == "Datenanalyse mit Python"
    refused = sidecar.client.post("/api/v1/verify?lang=../x", data=sealed, content_type="application/ld+json")
    assert refused.status_code == 400 and refused.json["errors"][0]["field"] == "lang"
