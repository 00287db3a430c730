"""Done when: two sidecars on loopback, A issues and B receives. An agreement with A in B's register,
signed (PAdES, verified on upload); A's sealed credential uploaded to B's desk is matched to it and
recognised in one step; the decision exports as JSON and as the learner's letter; statistics name
no learner."""
from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pyhanko.pdf_utils.reader import PdfFileReader
from werkzeug.serving import make_server

from bridge.api.common import Runtime
from bridge.auth import signature_headers
from bridge.elm.learning_opportunity import opportunity_url
from bridge.tasks.dispatch import InProcessDispatcher
from sealer.keys.devseal import create_dev_seal
from tests.sidecar.conftest import ADMIN, PINNED_NOW, example_completion, make_sidecar

from .conftest import agreement_body
from .signing import TestPki, sign


class Served:
    """A sidecar app served by a real HTTP server on 127.0.0.1 (a thread of this process)."""

    def __init__(self, car: Any) -> None:
        self.car = car
        self.server = make_server("127.0.0.1", 0, car.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {ADMIN}"

    @property
    def rt(self) -> Runtime:
        return self.car.app.extensions["edc"]

    def close(self) -> None:
        self.server.shutdown()
        if isinstance(self.rt.dispatcher, InProcessDispatcher):
            self.rt.dispatcher.drain()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Served, Served, TestPki]]:
    seal_a = create_dev_seal(tmp_path / "seal-a", organization_identifier="VATFR-11111111111",
                             organisation="Université A")
    seal_b = create_dev_seal(tmp_path / "seal-b", organization_identifier="VATBE-0222222222",
                             organisation="Universiteit B", country="BE")
    a = Served(make_sidecar(tmp_path / "a", f"sqlite:///{tmp_path / 'a.sqlite3'}", seal_a.pkcs12_path))
    pki = TestPki.make()  # the CA of the people who sign agreements
    trust = tmp_path / "trust"  # what B trusts: A's seal CA and the signers' CA
    trust.mkdir()
    (trust / "a-seal-ca.pem").write_bytes(seal_a.ca_certificate_path.read_bytes())
    (trust / "signers-ca.pem").write_bytes(pki.root_pem())
    b = Served(make_sidecar(tmp_path / "b", f"sqlite:///{tmp_path / 'b.sqlite3'}", seal_b.pkcs12_path,
                            EDC_VERIFY_TRUST=str(trust)))
    yield a, b, pki
    a.close()
    b.close()


def _issue(a: Served) -> bytes:
    key = a.car.add_source("moodle-main")
    a.car.put_template("42")
    body = json.dumps(example_completion()).encode()
    answer = requests.post(f"{a.url}/api/v1/completions", data=body, timeout=30, headers={
        "Content-Type": "application/json",
        **signature_headers("moodle-main", key, "POST", "/api/v1/completions", body)})
    assert answer.status_code == 202, answer.text
    a.rt.dispatcher.drain()
    sealed = a.http.get(f"{a.url}/api/v1/credentials/{answer.json()['id']}/sealed", timeout=30)
    assert sealed.status_code == 200
    return sealed.content


def test_agreement_signed_then_credential_recognised_in_one_step(pair: tuple[Served, Served, TestPki]) -> None:
    a, b, pki = pair
    sealed = _issue(a)
    api = f"{b.url}/console/api"

    partner = b.http.post(f"{api}/partners", json={"name": "Université A", "country": "FR",
                                                   "eidas_identifier": "VATFR-11111111111"}, timeout=30)
    assert partner.status_code == 201, partner.text
    body = agreement_body(partner.json()["id"], min_grade="50/100")
    body["courses"][0].update(their_lo_iri=opportunity_url(a.car.settings.public_url, "moodle-main", "42"),
                              their_title="Data Analysis with Python")
    b.car.add_source("moodle-main")
    b.car.put_template("43")
    b.car.put_template("42")
    agreement = b.http.post(f"{api}/agreements", json=body, timeout=30).json()
    number = agreement["id"]

    # Before the agreement is signed, the credential goes to individual recognition.
    early = b.http.post(f"{api}/recognition/cases", data=sealed, timeout=60,
                        headers={"Content-Type": "application/octet-stream"})
    assert early.status_code == 201, early.text
    assert early.json()["verdict"] == "valid"
    assert early.json()["match"]["outcome"] == "individual"

    assert b.http.post(f"{api}/agreements/{number}:status", json={"status": "agreed"}, timeout=30).ok
    for lang, expected in (("en", "Credit recognition agreement"), ("fr", "Accord de reconnaissance")):
        pdf = b.http.get(f"{api}/agreements/{number}.pdf", params={"lang": lang}, timeout=60)
        assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
        assert expected in _text(pdf.content), lang
    unsigned = b.http.get(f"{api}/agreements/{number}.pdf", timeout=60).content
    refused = b.http.post(f"{api}/agreements/{number}/signed", data=unsigned, timeout=60,
                          headers={"Content-Type": "application/pdf"})
    assert refused.status_code == 422 and "no signature" in refused.text
    signed = sign(sign(unsigned, pki.signer("Dana Dean", "Universiteit B", "VATBE-0222222222"), "SignatureB"),
                  pki.signer("Pierre Président", "Université A", "VATFR-11111111111"), "SignatureA")
    accepted = b.http.post(f"{api}/agreements/{number}/signed", timeout=60,
                           files={"file": ("signed.pdf", io.BytesIO(signed), "application/pdf")})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "signed"
    shown = accepted.json()["signatures"]
    assert [(s["signer"], s["intact"], s["trusted"]) for s in shown] == [
        ("Dana Dean", True, True), ("Pierre Président", True, True)]
    assert all(s["signed_at"] for s in shown)

    answer = b.http.post(f"{api}/recognition/cases", params={"recognise": "true"}, data=sealed, timeout=60,
                         headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 201, answer.text
    case = answer.json()
    assert case["match"]["outcome"] == "covered", case["match"]["conditions"]
    assert case["match"]["message"] == (f"Covered by agreement {number} with Université A: recognised as 5 ECTS.")
    assert case["decision"] == "recognised"
    assert case["recognised_as"]["ects"] == 5
    assert case["agreement_id"] == number

    record = b.http.get(f"{api}/recognition/cases/{case['id']}/record", timeout=30).json()
    assert record["agreement"]["id"] == number and record["learner"]["name"] == "Camille Martin"
    assert record["credential"]["issuer_identifier"] == "VATFR-11111111111"
    letter = b.http.get(f"{api}/recognition/cases/{case['id']}/letter.pdf", params={"lang": "fr"}, timeout=60)
    assert letter.status_code == 200 and "Décision de reconnaissance" in _text(letter.content)

    stats = b.http.get(f"{api}/recognition/statistics", timeout=30)
    assert stats.json()["items"][0]["cases"] == 2
    assert {k: stats.json()["items"][0][k] for k in ("recognised", "pending", "under_agreement")} == {
        "recognised": 1, "pending": 1, "under_agreement": 1}
    assert "Camille" not in stats.text and "camille" not in stats.text

    # Past its validity (the sidecar's clock moved on), the agreement covers nothing more.
    b.rt.clock = lambda: PINNED_NOW.replace(year=2028)
    late = b.http.post(f"{api}/recognition/cases", data=sealed, timeout=60,
                       headers={"Content-Type": "application/octet-stream"}).json()
    assert late["match"]["outcome"] != "covered"


def _text(pdf: bytes) -> str:
    """The text of a PDF's pages (pdftotext, as a reader's copy and paste gets it)."""
    import subprocess

    reader = PdfFileReader(io.BytesIO(pdf))  # it parses
    assert reader.root
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
