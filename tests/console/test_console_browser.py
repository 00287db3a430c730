"""The console in a real browser (headless Chromium through Selenium and Debian's chromedriver):
a registrar signs in through the institution's OpenID Connect provider (on loopback), finds a failed
credential, fixes its course template, re-issues it and sees it delivered; a course team member of
another course cannot see it. Keyboard and plain forms only: no page script is involved."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.browser import chromium
from tests.console.conftest import Console, add_people, make_sidecar
from tests.fakes.oidc_provider import OidcProvider, Person, running_provider


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


@pytest.fixture
def live(tmp_path: Path, dev_seal_p12: Path) -> Iterator[tuple[Console, str, OidcProvider]]:
    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: holder["app"](env, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    idp = OidcProvider(redirect_uris=[f"{base}/console/oidc/callback"], people={
        "regina": Person("sub-regina", "regina@univ.example", "Regina Registrar", groups=["edc-registrars"]),
        "tom": Person("sub-tom", "tom@univ.example", "Tom Team", groups=["edc-course:moodle-main/43"]),
    })
    with running_provider(idp):
        car = make_sidecar(tmp_path, f"sqlite:///{tmp_path / 'live.sqlite3'}", dev_seal_p12, EDC_PUBLIC_URL=base,
                           EDC_OIDC_ISSUER=idp.issuer, EDC_OIDC_CLIENT_ID=idp.client_id,
                           EDC_OIDC_CLIENT_SECRET=idp.client_secret, EDC_OIDC_NAME="Université Exemple",
                           EDC_OIDC_ROLE_MAP="edc-registrars=registrar", EDC_OIDC_COURSE_PREFIX="edc-course:")
        holder["app"] = car.app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        key = car.add_source("moodle-main")
        car.put_template("42", policy={"channels": ["wallet"]})  # the fault: no wallet is configured here
        car.put_template("43")
        add_people(car)
        try:
            yield Console(car, key), base, idp
        finally:
            server.shutdown()
            thread.join(timeout=10)
            car.drain()


def _press(driver: Any, element: Any) -> None:
    """Activate a link or button with the keyboard and wait for the next page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.send_keys(Keys.ENTER)
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))


def _sign_in(driver: Any, base: str, login: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/console/")
    assert "/console/login" in driver.current_url
    _press(driver, driver.find_element(By.ID, "oidc-login"))
    field = driver.find_element(By.ID, "login")  # the identity provider's own page
    field.send_keys(login)
    _press(driver, field)
    assert driver.find_element(By.ID, "sign-out")  # back in the console, signed in


def test_registrar_fixes_a_template_and_reissues(browser: Any, live: tuple[Console, str, OidcProvider]) -> None:
    from selenium.webdriver.common.by import By

    console, base, _ = live
    failed = console.issue("42", "17")
    other = console.issue("43", "18", email="other@example.org")
    _sign_in(browser, base, "regina")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Dashboard"
    assert browser.find_element(By.ID, "failed").text == "1"
    _press(browser, browser.find_element(By.CSS_SELECTOR, "#failed a"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#credentials tbody tr")
    assert [r.get_attribute("data-id") for r in rows] == [failed]
    _press(browser, rows[0].find_element(By.TAG_NAME, "a"))
    assert "wallet channel is not configured" in browser.find_element(By.ID, "delivery-wallet").text
    # Fix the course template: deliver by e-mail.
    _press(browser, browser.find_element(By.LINK_TEXT, "moodle-main/42"))
    editor = browser.find_element(By.ID, "template")
    fixed = editor.get_property("value").replace('"wallet"', '"email"')
    editor.clear()
    browser.execute_script("arguments[0].value = arguments[1];", editor, fixed)  # typing 4 KB is slow
    _press(browser, browser.find_element(By.ID, "save-template"))
    assert browser.find_element(By.ID, "channels").text == "email"
    assert "Regina Registrar" in browser.find_element(By.ID, "history").text
    # Back to the credential: re-issue it, then watch it being delivered.
    browser.get(f"{base}/console/credentials/{failed}")
    _press(browser, browser.find_element(By.ID, "reissue"))
    assert "issued again" in browser.find_element(By.ID, "done").text
    deadline = time.monotonic() + 60
    while "delivered" not in browser.find_element(By.ID, "credential-status").text:
        assert time.monotonic() < deadline, "the re-issued credential was not delivered"
        time.sleep(0.5)
        browser.refresh()
    timeline = browser.find_element(By.ID, "timeline").text
    assert "credential.reissue" in timeline and "delivered (attempt 1)" in timeline
    assert [e.action for e in console.audit() if e.actor_kind == "staff"
            and e.action.startswith(("template.", "credential."))] == ["template.save", "credential.reissue"]
    _press(browser, browser.find_element(By.ID, "sign-out"))

    # A course team member of course 43 sees its own credential and not course 42's.
    _sign_in(browser, base, "tom")
    browser.get(f"{base}/console/credentials")
    shown = [r.get_attribute("data-id") for r in browser.find_elements(By.CSS_SELECTOR, "#credentials tbody tr")]
    assert shown == [other]
    browser.get(f"{base}/console/credentials/{failed}")
    assert browser.find_element(By.ID, "forbidden").text == "Not allowed"
    browser.get(f"{base}/console/api/credentials/{failed}")
    assert '"status": 403' in browser.page_source or '"status":403' in browser.page_source
