"""The register and the desk in a real browser (headless Chromium): a recognition officer adds the
partner, drafts an agreement through the form, marks it agreed, uploads it signed (PAdES), then a
learner's credential from the partner is matched to it at the desk and recognised with one press.
Plain forms and the keyboard only: the pages carry no script."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from bridge.auth import signature_headers
from bridge.elm.learning_opportunity import opportunity_url
from sealer.keys.devseal import create_dev_seal
from tests.browser import chromium
from tests.console.conftest import PASSWORD, add_people
from tests.sidecar.conftest import ADMIN, example_completion, make_sidecar

from .signing import TestPki, sign


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def _issued_by_a(tmp_path: Path) -> tuple[bytes, str, Path]:
    """A credential sealed by institution A (its own sidecar, not served); its course IRI; A's seal CA."""
    seal = create_dev_seal(tmp_path / "seal-a", organization_identifier="VATFR-11111111111",
                           organisation="Université A")
    a = make_sidecar(tmp_path / "a", f"sqlite:///{tmp_path / 'a.sqlite3'}", seal.pkcs12_path,
                     EDC_PUBLIC_URL="https://a.example")
    key = a.add_source("moodle-main")
    a.put_template("42")
    body = json.dumps(example_completion()).encode()
    answer = a.client.post("/api/v1/completions", data=body, content_type="application/json",
                           headers=signature_headers("moodle-main", key, "POST", "/api/v1/completions", body))
    assert answer.status_code == 202
    a.drain()
    sealed = a.admin("GET", f"/api/v1/credentials/{answer.json['id']}/sealed").data
    return sealed, opportunity_url("https://a.example", "moodle-main", "42"), seal.ca_certificate_path


def _press(driver: Any, element: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.send_keys(Keys.ENTER)
    WebDriverWait(driver, 60).until(expected_conditions.staleness_of(page))


def _type(driver: Any, element_id: str, text: str) -> None:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def _choose(driver: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, element_id)).select_by_value(value)


def test_officer_signs_an_agreement_and_recognises_a_credential(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    sealed, iri, ca_a = _issued_by_a(tmp_path)
    (tmp_path / "credential.jsonld").write_bytes(sealed)
    seal_b = create_dev_seal(tmp_path / "seal-b", organization_identifier="VATBE-0222222222", country="BE")
    b = make_sidecar(tmp_path / "b", f"sqlite:///{tmp_path / 'b.sqlite3'}", seal_b.pkcs12_path,
                     EDC_VERIFY_TRUST=str(ca_a))
    b.add_source("moodle-main")
    b.put_template("43")
    add_people(b)
    server = make_server("127.0.0.1", 0, b.app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        browser.get(f"{base}/console/login")
        _type(browser, "username", "rose")
        _type(browser, "password", PASSWORD)
        _press(browser, browser.find_element(By.ID, "login-submit"))
        _press(browser, browser.find_element(By.ID, "nav-agreements"))

        _type(browser, "partner-name", "Université A")
        _type(browser, "partner-country", "FR")
        _type(browser, "partner-eidas_identifier", "VATFR-11111111111")
        _press(browser, browser.find_element(By.ID, "partner-pic"))
        assert "Université A" in browser.find_element(By.ID, "partner-list").text

        _press(browser, browser.find_element(By.ID, "new-agreement"))
        _type(browser, "title", "Data skills recognition")
        _type(browser, "line0_their_title", "Data Analysis with Python")
        _type(browser, "line0_their_lo_iri", iri)
        _choose(browser, "line0_our_course", "moodle-main/43")
        _choose(browser, "line0_counts_as", "credits")
        _type(browser, "line0_ects", "5")
        _type(browser, "min_grade", "50/100")
        # A date field's own picker is the browser's, not the page's: its value is set as the picker would.
        for element_id, day in (("valid_from", "2026-01-01"), ("valid_until", "2027-12-31")):
            browser.execute_script("arguments[0].value = arguments[1]", browser.find_element(By.ID, element_id), day)
        _type(browser, "signatories0_name", "Dana Dean")
        _type(browser, "signatories1_name", "Pierre Président")
        _press(browser, browser.find_element(By.ID, "save-agreement"))
        assert "Data skills recognition" in browser.find_element(By.TAG_NAME, "h1").text, browser.page_source[:3000]
        _press(browser, browser.find_element(By.ID, "to-agreed"))
        number = int(browser.current_url.rstrip("/").rsplit("/", 1)[1])

        # The parties sign the PDF the register made (outside the console), then it is uploaded back.
        unsigned = b.client.get(f"/console/api/agreements/{number}.pdf?lang=fr",
                                headers={"Authorization": f"Bearer {ADMIN}"}).data
        pki = TestPki.make()
        signed = sign(sign(unsigned, pki.signer("Dana Dean", "Universiteit B"), "B"),
                      pki.signer("Pierre Président", "Université A", "VATFR-11111111111"), "A")
        (tmp_path / "signed.pdf").write_bytes(signed)
        browser.find_element(By.ID, "signed-file").send_keys(str(tmp_path / "signed.pdf"))
        _press(browser, browser.find_element(By.CSS_SELECTOR, "#upload-signed button"))
        assert "signed" in browser.find_element(By.ID, "agreement-status").text
        assert "Pierre Président" in browser.find_element(By.CSS_SELECTOR, "table.signatures").text

        _press(browser, browser.find_element(By.ID, "nav-recognition"))
        browser.find_element(By.ID, "credential-file").send_keys(str(tmp_path / "credential.jsonld"))
        _press(browser, browser.find_element(By.CSS_SELECTOR, "#upload-credential button"))
        match = browser.find_element(By.ID, "match").text
        assert f"Covered by agreement {number} with Université A: recognised as 5 ECTS." in match
        _press(browser, browser.find_element(By.CSS_SELECTOR, "#recognise-as-agreed button"))
        assert "recognised" in browser.find_element(By.ID, "decision").text
        assert browser.find_element(By.ID, "letter-fr").get_attribute("href").endswith("letter.pdf?lang=fr")
    finally:
        server.shutdown()
        thread.join(timeout=10)
