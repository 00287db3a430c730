"""A real browser (headless Chromium from Debian, driven by Selenium through Debian's chromedriver)
uploads EDC's own sealed sample and a tampered copy to the verification page over HTTP, using the
keyboard, and reads what the page shows."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.browser import chromium
from tests.receiving.conftest import EDC_SIGNED, Sidecar


@pytest.fixture
def base_url(sidecar: Sidecar) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, sidecar.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def _upload(driver: Any, base_url: str, path: Path, lang: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{base_url}/verify?lang={lang}")
    driver.find_element(By.ID, "file").send_keys(str(path))
    button = driver.find_element(By.CSS_SELECTOR, "form.upload button[type=submit]")
    button.send_keys(Keys.ENTER)  # keyboard, not a mouse click
    WebDriverWait(driver, 60).until(expected_conditions.presence_of_element_located((By.ID, "seal-valid")))


def test_edc_sample_and_tampered_copy_in_a_real_browser(browser: Any, base_url: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{base_url}/verify")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    # The first Tab reaches the skip link, which becomes visible and leads to the main landmark.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    active = browser.switch_to.active_element
    assert active.get_attribute("href").endswith("#main")
    assert active.rect["x"] >= 0 and active.is_displayed()
    assert browser.execute_script(
        "return getComputedStyle(document.activeElement).outlineStyle") == "solid"

    _upload(browser, base_url, EDC_SIGNED, "en")
    heading = browser.find_element(By.ID, "result-heading")
    assert heading.text.startswith("Cannot be confirmed")
    assert browser.find_element(By.ID, "result").get_attribute("aria-live") == "polite"
    assert browser.find_element(By.ID, "seal-valid").text.startswith("yes (JAdES B-LTA)")
    assert browser.find_element(By.ID, "sealed-by").text == "ORGANIZACION TEST"
    assert browser.find_element(By.ID, "learner").text == "Ana Andromeda"
    assert browser.find_element(By.ID, "conforms").text == "yes"
    # Printed, the page keeps the report and drops the navigation and the upload form.
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    assert not browser.find_element(By.CSS_SELECTOR, "form.upload").is_displayed()
    assert not browser.find_element(By.CSS_SELECTOR, "header.site").is_displayed()
    assert browser.find_element(By.ID, "recognition").is_displayed()
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    tampered = tmp_path / "tampered.jsonld"
    tampered.write_bytes(EDC_SIGNED.read_bytes().replace(b"Ana Andromeda", b"Eve Andromeda", 1))
    _upload(browser, base_url, tampered, "fr")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert browser.find_element(By.ID, "result-heading").text.startswith("Non valide")
    assert browser.find_element(By.ID, "seal-valid").text.startswith("non")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert "does not verify" in alert.text or "signature" in alert.text
    assert "Eve Andromeda" not in browser.page_source  # forged content is not shown as a report
