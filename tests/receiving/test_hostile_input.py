"""Hostile uploads on the verification page and API: each is refused with a clear message, never a 500,
never a file read or a network fetch, and never by showing content the seal does not cover."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lxml_html

from bridge.verify import verify_credential as recognise
from sealer.jades import dumps, seal_jades
from sealer.keys import Pkcs12KeySource
from sealer.xades.dsig import parse
from tests.receiving.conftest import COMPLETED_AT, Sidecar, make_sidecar

SECRET = "TOP-SECRET-MARKER-4711"


def api(car: Sidecar, data: bytes, content_type: str = "application/octet-stream") -> Any:
    return car.client.post("/api/v1/verify", data=data, content_type=content_type)


def page_errors(response: Any) -> str:
    doc = lxml_html.fromstring(response.data)
    return " ".join(" ".join(e.text_content().split()) for e in doc.xpath("//*[@role='alert']"))


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).hits.append(self.path)
        body = f'<!ENTITY x "{SECRET}">'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def dtd_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback server that would serve an external DTD; records whether anyone asked for it."""
    handler = type("Recorder", (_Recorder,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    server.shutdown()
    server.server_close()


def test_xxe_to_a_local_file_is_not_read(sidecar: Sidecar, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    xml = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
           '<r xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><n>&x;</n><ds:Signature/></r>').encode()
    response = api(sidecar, xml, "application/xml")
    assert response.status_code == 200
    assert SECRET.encode() not in response.data
    assert response.json["ok"] is False
    assert any("DOCTYPE" in e for e in response.json["errors"])
    page = sidecar.upload(xml, "evil.xml")
    assert page.status_code == 200 and SECRET.encode() not in page.data
    assert "DOCTYPE declarations are not allowed" in page_errors(page)


def test_external_dtd_and_parameter_entities_are_never_fetched(sidecar: Sidecar,
                                                               dtd_server: tuple[str, list[str]]) -> None:
    url, hits = dtd_server
    documents = [
        f'<?xml version="1.0"?><!DOCTYPE r SYSTEM "{url}/evil.dtd"><r>&x;</r>',
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "{url}/p.dtd"> %p;]><r>&x;</r>',
        f'<?xml version="1.0"?><r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{url}/x"/></r>',
    ]
    for xml in documents:
        report = api(sidecar, xml.encode(), "text/xml").json
        assert report["ok"] is False and report["errors"]
        assert SECRET not in json.dumps(report)
    assert hits == []


def test_billion_laughs_is_refused(sidecar: Sidecar) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    xml = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()
    report = api(sidecar, xml, "application/xml").json
    assert report["ok"] is False
    # libxml2 stops the expansion itself (amplification limit); the DOCTYPE ban backs it up.
    assert any("entity" in e or "DOCTYPE" in e for e in report["errors"]), report["errors"]
    with pytest.raises(ValueError, match="entity|DOCTYPE"):
        parse(xml)
    small = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'
    with pytest.raises(ValueError, match="DOCTYPE"):
        parse(small)


def test_xml_signature_wrapping_is_refused(sidecar: Sidecar, edc_xml: bytes) -> None:
    end = edc_xml.rindex(b"</vp:verifiablePresentation>")
    fake = (b"<vp:verifiableCredential><cred:credentialSubject>Mallory</cred:credentialSubject>"
            b"</vp:verifiableCredential>")
    inside = edc_xml[:end] + fake + edc_xml[end:]
    body = edc_xml[edc_xml.index(b"?>") + 2:]
    outside = (b'<?xml version="1.0" encoding="UTF-8"?><wrapper><credential>Mallory</credential>' + body
               + b"</wrapper>")
    for wrapped in (inside, outside):
        report = api(sidecar, wrapped, "application/xml").json
        assert report["ok"] is False and report["seal"]["signature_intact"] is not True
        assert any("does not verify" in e or "content was changed" in e for e in report["errors"]), report["errors"]
        assert "Mallory" not in json.dumps(report)
    signature_start = edc_xml.index(b"<ds:Signature")
    signature = edc_xml[signature_start:edc_xml.index(b"</ds:Signature>") + len(b"</ds:Signature>")]
    twice = edc_xml[:end] + signature + edc_xml[end:]
    report = api(sidecar, twice, "application/xml").json
    assert any("exactly one seal" in e for e in report["errors"])


def test_json_credential_next_to_the_sealed_one_is_refused(sidecar: Sidecar, edc_signed: bytes) -> None:
    jws = json.loads(edc_signed)
    jws["credentialSubject"] = {"fullName": {"en": "Mallory"}}
    response = api(sidecar, json.dumps(jws).encode(), "application/ld+json")
    report = response.json
    # The seal may be intact, but the file is not one JWS: refused as a whole before anything is shown.
    assert report["ok"] is False and report["verdict"] == "invalid" and report["sub_indication"] == "FORMAT_FAILURE"
    assert any("outside the seal (credentialSubject)" in e for e in report["errors"])
    assert "Mallory" not in json.dumps(report)
    page = sidecar.upload(json.dumps(jws).encode())
    assert "outside the seal" in page_errors(page) and b"Mallory" not in page.data


def test_duplicate_payload_member_is_refused(sidecar: Sidecar, edc_signed: bytes) -> None:
    """Two "payload" members: one JSON reader verifies the first, another shows the last."""
    fake = json.dumps(json.dumps({"credentialSubject": {"fullName": {"en": "Mallory"}}}))
    text = edc_signed.decode("utf-8")
    assert text.startswith('{"payload":')
    doubled = '{"payload":' + fake + "," + text[1:]
    report = api(sidecar, doubled.encode(), "application/ld+json").json
    assert report["ok"] is False and report["seal"]["signature_intact"] is not True
    assert any("repeats the member 'payload'" in e for e in report["errors"]), report["errors"]
    assert "Mallory" not in json.dumps(report)


def test_sealed_payload_with_duplicate_keys_is_refused(sidecar: Sidecar, dev_seal: Any) -> None:
    """Correctly sealed, but the sealed text itself is ambiguous: readers could show two learners."""
    _cred_id, sealed = sidecar.issue()
    payload = json.loads(sealed)["payload"]
    ambiguous = payload.replace('"fullName":', '"fullName":{"fr":"Mallory"},"fullName":', 1)
    assert ambiguous != payload
    key = Pkcs12KeySource(dev_seal.pkcs12_path, "dev-seal")
    resealed = dumps(seal_jades(ambiguous.encode("utf-8"), key))
    report = api(sidecar, resealed, "application/ld+json").json
    assert report["ok"] is False and report["sub_indication"] == "FORMAT_FAILURE"
    assert any("repeats the member 'fullName'" in e for e in report["errors"]), report["errors"]
    assert report["credential"] is None and "Mallory" not in json.dumps(report)


def test_payload_differing_from_what_was_sealed(sidecar: Sidecar, edc_signed: bytes) -> None:
    jws = json.loads(edc_signed)
    credential = json.loads(jws["payload"])
    credential["credentialSubject"]["fullName"] = {"en": "Mallory"}
    jws["payload"] = json.dumps(credential)
    report = api(sidecar, json.dumps(jws).encode(), "application/json").json
    assert report["ok"] is False and report["seal"]["signature_intact"] is False
    assert report["sub_indication"] == "SIG_CRYPTO_FAILURE"


def test_oversized_upload_gets_413_with_a_clear_message(tmp_path: Path, dev_seal: Any, edc_signed: bytes) -> None:
    car = make_sidecar(tmp_path, dev_seal, EDC_VERIFY_MAX_BYTES="100000")
    assert len(edc_signed) > 100_000
    response = car.upload(edc_signed)  # within the multipart allowance, over the file limit
    assert response.status_code == 413
    assert "too large" in page_errors(response) and "0.1 MiB" in page_errors(response)
    far_too_big = b"{" + b" " * 400_000 + b"}"  # beyond the request limit: werkzeug stops reading
    response = car.upload(far_too_big, lang="fr")
    assert response.status_code == 413 and "trop volumineux" in page_errors(response)
    response = api(car, edc_signed, "application/ld+json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json" and response.json["status"] == 413


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        ("{\"payload\": \"é\"}".encode("utf-16"), "not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text"),
        (b"%PDF-1.7 hello", "neither a JAdES-sealed JSON credential nor a XAdES-sealed XML"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_files_that_are_not_credentials(sidecar: Sidecar, data: bytes, message: str) -> None:
    response = api(sidecar, data)
    assert response.status_code == 422
    assert response.json["errors"] == [{"field": "file", "message": response.json["detail"]}]
    assert message in response.json["detail"]
    page = sidecar.upload(data)
    assert page.status_code == 422 and message in page_errors(page)


def test_truncated_json(sidecar: Sidecar, edc_signed: bytes) -> None:
    truncated = edc_signed[: len(edc_signed) // 2]
    response = api(sidecar, truncated, "application/ld+json")
    assert response.status_code == 422
    assert "not valid JSON" in response.json["detail"] and "truncated" in response.json["detail"]
    page = sidecar.upload(truncated, lang="fr")
    assert page.status_code == 422 and "truncated" in page_errors(page)


def test_missing_file(sidecar: Sidecar) -> None:
    response = sidecar.client.post("/verify", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a credential file" in page_errors(response)
    response = sidecar.client.post("/api/v1/verify", data={}, content_type="multipart/form-data")
    assert response.status_code == 400 and response.json["errors"][0]["field"] == "file"


def test_unsealed_credential_is_not_valid(edc_signed: bytes) -> None:
    payload = json.loads(edc_signed)["payload"].encode("utf-8")
    report = recognise(payload)
    assert report["ok"] is False and report["seal"]["signature_intact"] is False
    assert report["sub_indication"] == "FORMAT_FAILURE"
    assert any("carries no seal" in e for e in report["errors"])


def test_links_from_a_sealed_credential_are_http_only(sidecar: Sidecar, dev_seal: Any) -> None:
    """A (validly sealed) credential may name any IRI; only http(s) ones become links on the page."""
    _cred_id, sealed = sidecar.issue()
    credential = json.loads(json.loads(sealed)["payload"])
    claim = credential["credentialSubject"]["hasClaim"][0]
    claim["learningOpportunity"]["id"] = "javascript:alert(1)"
    claim["specifiedBy"]["learningOutcome"][0]["relatedESCOSkill"][0]["id"] = "data:text/html,<b>x</b>"
    key = Pkcs12KeySource(dev_seal.pkcs12_path, "dev-seal")
    resealed = dumps(seal_jades(json.dumps(credential).encode("utf-8"), key))
    response = sidecar.upload(resealed)
    doc = lxml_html.fromstring(response.data)
    hrefs = [a.get("href") for a in doc.xpath("//a")]
    assert not [h for h in hrefs if h.startswith(("javascript:", "data:"))]
    assert "javascript:alert(1)" in doc.text_content()  # shown as text, for the registrar to judge
    assert any(h.startswith("http://data.europa.eu/esco/skill/") for h in hrefs)


def test_deeply_nested_sealed_payload_is_refused(sidecar: Sidecar, edc_signed: bytes) -> None:
    jws = json.loads(edc_signed)
    for payload in ("[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000):
        jws["payload"] = payload
        response = api(sidecar, json.dumps(jws).encode(), "application/ld+json")
        assert response.status_code == 200
        assert response.json["ok"] is False and response.json["sub_indication"] == "SIG_CRYPTO_FAILURE"


def test_odd_claim_lists_keep_details_with_their_achievement(sidecar: Sidecar, dev_seal: Any) -> None:
    """A non-object entry among the claims must not shift awarding dates onto another achievement."""
    _cred_id, sealed = sidecar.issue()
    credential = json.loads(json.loads(sealed)["payload"])
    claims = credential["credentialSubject"]["hasClaim"]
    credential["credentialSubject"]["hasClaim"] = ["not a claim", *claims]
    key = Pkcs12KeySource(dev_seal.pkcs12_path, "dev-seal")
    resealed = dumps(seal_jades(json.dumps(credential).encode("utf-8"), key))
    report = api(sidecar, resealed, "application/ld+json").json
    assert report["credential"] is not None, report["errors"]
    achievements = report["credential"]["achievements"]
    assert len(achievements) == 1
    assert achievements[0]["awarding_date"] == COMPLETED_AT
    assert achievements[0]["learning_opportunity"].endswith("/catalogue/moodle-main/42.jsonld")


def test_malformed_upload_limit_stops_the_start(tmp_path: Path, dev_seal: Any) -> None:
    from bridge.config import ConfigError

    with pytest.raises(ConfigError, match="EDC_VERIFY_MAX_BYTES"):
        make_sidecar(tmp_path, dev_seal, EDC_VERIFY_MAX_BYTES="2MB")
